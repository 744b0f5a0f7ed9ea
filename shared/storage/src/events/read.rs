//! The GetLogEvents / FilterLogEvents path: chunks of a time window, merged into event order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::logs::{LogGroup, LogStream};
use logbook_protocol::{ApiError, Identity};

use super::{CHUNK_SPAN_MAX, Direction, HOUR, Pos, StoredEvent, decode_chunk};

/// What a read knows of one stream's chunk spans, by hour.
struct Spans<'a> {
    known: HashMap<i64, i64>,
    group_id: &'a str,
    stream: &'a LogStream,
}
use crate::keys::Key;
use crate::keys::{self, EXPIRES_AT, Kind, SK, attr};
use crate::table::{Query, Range, get_n, get_s};
use crate::{Item, Store};

/// How many chunks the first query of a read fetches: enough for a page of `limit` events at 16
/// events a chunk (shippers send tens), at least 4, at most [`CHUNKS_PER_QUERY`]. A small page
/// then reads (and pays for) a few chunks, not sixteen; a read that needs more queries again.
fn first_query_chunks(limit: usize) -> usize {
    (limit / 16 + 2).clamp(4, CHUNKS_PER_QUERY)
}

/// A stream whose chunks never spanned more than this is read with its own `maxSpan` as the
/// look-back; a wider one also reads the spans of the hours concerned, which may be narrower.
const STREAM_SPAN_ENOUGH: i64 = 10_000;

/// Chunks fetched per query while reading.
const CHUNKS_PER_QUERY: usize = 16;

/// One read of a stream's events: those with `lo <= timestamp < hi`, strictly after (forward)
/// or before (backward) `from`, in time order, at most `limit` events and `max_bytes` (message
/// bytes + 26 each). Events past their TTL at `now` are hidden.
///
/// Chunks are keyed by their first event's time, and a chunk starting before `lo` may hold
/// events after it: a read looks back as far as the widest chunk that starts in the hours
/// concerned (their active-hour items record it, see `write.rs`), not a fixed hour. `spans`
/// may bring what the caller already read of them (FilterLogEvents does); the rest is read when
/// needed.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    pub group_id: &'a str,
    pub stream: &'a LogStream,
    pub spans: Option<&'a HashMap<i64, i64>>,
    pub lo: i64,
    pub hi: i64,
    pub from: &'a Pos,
    pub direction: Direction,
    pub limit: usize,
    pub max_bytes: usize,
    pub now: i64,
}

/// A decoded chunk.
struct Chunk {
    id: String,
    ingestion: i64,
    events: Vec<(i64, String)>,
}

/// What a chunk item says about its events, read before its data is fetched or decoded.
struct ChunkMeta {
    id: String,
    sk: String,
    expires_at: Option<i64>,
    first: i64,
    last: i64,
    ingestion: i64,
    raw: usize,
    format: i64,
    parts: usize,
}

impl ChunkMeta {
    fn of(item: &Item) -> Result<ChunkMeta, ApiError> {
        let num = |k: &str| get_n(item, k).ok_or_else(|| ApiError::internal(format!("chunk without {k}")));
        let sk = get_s(item, SK).unwrap_or_default().to_owned();
        Ok(ChunkMeta {
            id: sk.rsplit('#').next().unwrap_or_default().to_owned(),
            first: num(attr::MIN_TS)?,
            last: num(attr::MAX_TS)?,
            ingestion: num(attr::INGESTION)?,
            raw: usize::try_from(num(attr::RAW)?).unwrap_or_default(),
            format: num(attr::FORMAT)?,
            // Optional attributes: a chunk without a TTL or parts is normal.
            expires_at: get_n(item, EXPIRES_AT),
            parts: usize::try_from(get_n(item, attr::PARTS).unwrap_or(0)).unwrap_or_default(),
            sk,
        })
    }
}

impl Store {
    /// The events `read` asks for (see [`Read`]).
    pub async fn read_events(&self, id: &Identity, read: &Read<'_>) -> Result<Vec<StoredEvent>, ApiError> {
        let Read { stream, from, direction, limit, max_bytes, now, .. } = *read;
        let pk = keys::events(id, &stream.id);
        let (lo, hi) = match direction {
            Direction::Forward => (read.lo.max(from.ts), read.hi),
            Direction::Backward => (read.lo, read.hi.min(from.ts.saturating_add(1))),
        };
        if lo >= hi {
            return Ok(Vec::new());
        }
        let mut spans = Spans { known: read.spans.cloned().unwrap_or_default(), group_id: read.group_id, stream };
        // Chunks starting this far before `lo` may still reach it.
        let lookback = if lo > 0 { self.lookback(id, &mut spans, lo).await? } else { 0 };
        let (from_sk, to_sk) = keys::chunk_range(lo.saturating_sub(lookback), hi - 1);
        let mut q = Query::new(&pk)
            .range(Range::Between(from_sk, to_sk))
            .backward(direction == Direction::Backward)
            .limit(first_query_chunks(limit));
        let mut pending: BTreeMap<Pos, (String, i64)> = BTreeMap::new();
        let mut out: Vec<StoredEvent> = Vec::new();
        let mut bytes = 0usize;
        loop {
            let page = self.db().page(&q).await?;
            let mut boundary: Option<i64> = None;
            for item in page.items {
                // A chunk's parts are read with their chunk.
                if Kind::Part.is(&item) {
                    continue;
                }
                let meta = ChunkMeta::of(&item)?;
                boundary = Some(meta.first);
                // DynamoDB deletes expired items late (DynamoDB Local never): hide them here.
                let expired = meta.expires_at.is_some_and(|e| e * 1000 <= now);
                if expired || meta.last < lo || meta.first >= hi {
                    continue;
                }
                let chunk = self.load_chunk(&pk, meta, item).await?;
                for (idx, (ts, message)) in chunk.events.into_iter().enumerate() {
                    let pos = Pos { ts, ing: chunk.ingestion, chunk: chunk.id.clone(), idx: idx as u32 };
                    let inside = ts >= lo && ts < hi;
                    let beyond = match direction {
                        Direction::Forward => pos > *from,
                        Direction::Backward => pos < *from,
                    };
                    if inside && beyond {
                        pending.insert(pos, (message, chunk.ingestion));
                    }
                }
            }
            let more = page.last.is_some();
            // Events no later chunk can precede (forward) or follow (backward) are final: every
            // chunk not read yet starts at or before the boundary (backward), so ends at most
            // the look-back after it.
            let released_after = match (more, boundary, direction) {
                (true, Some(b), Direction::Backward) => Some(b.saturating_add(self.lookback(id, &mut spans, b).await?)),
                _ => None,
            };
            let safe = |p: &Pos| match (more, boundary, direction) {
                (false, _, _) | (_, None, _) => true,
                (true, Some(b), Direction::Forward) => p.ts < b,
                (true, Some(_), Direction::Backward) => released_after.is_some_and(|r| p.ts > r),
            };
            loop {
                let next = match direction {
                    Direction::Forward => pending.first_key_value().map(|(k, _)| k.clone()),
                    Direction::Backward => pending.last_key_value().map(|(k, _)| k.clone()),
                };
                let Some(pos) = next.filter(|p| safe(p)) else { break };
                let (message, ingestion_time) = pending.remove(&pos).expect("present");
                let size = message.len() + 26;
                if out.len() >= limit || bytes + size > max_bytes {
                    return Ok(finish(out, direction));
                }
                bytes += size;
                out.push(StoredEvent { pos, message, ingestion_time });
            }
            match page.last {
                Some(last) => q = q.after(Some(last)).limit(CHUNKS_PER_QUERY),
                None => return Ok(finish(out, direction)),
            }
        }
    }

    /// How far before `t` a chunk holding an event at `t` may start: the widest span of the
    /// chunks starting in `t`'s hour or the hour before (a chunk spans at most
    /// [`CHUNK_SPAN_MAX`], so none from earlier reaches `t`'s hour).
    async fn lookback(&self, id: &Identity, spans: &mut Spans<'_>, t: i64) -> Result<i64, ApiError> {
        // The stream's widest chunk ever bounds every hour: when it is narrow (the usual case,
        // batches of seconds), it is all a read needs, with nothing more to read.
        let stream_max = spans.stream.max_span.unwrap_or(CHUNK_SPAN_MAX);
        if stream_max <= STREAM_SPAN_ENOUGH {
            return Ok(stream_max.max(0));
        }
        let hour = t.div_euclid(HOUR);
        let wanted: Vec<i64> = [hour - 1, hour].into_iter().filter(|h| !spans.known.contains_key(h)).collect();
        if !wanted.is_empty() {
            let found = self.hour_spans(id, spans.group_id, &spans.stream.name, &wanted).await?;
            for h in wanted {
                // No item: no chunk of this stream starts in that hour.
                spans.known.insert(h, found.get(&h).copied().unwrap_or(0));
            }
        }
        Ok(spans.known[&(hour - 1)].max(spans.known[&hour]).min(stream_max).min(CHUNK_SPAN_MAX))
    }

    /// The recorded spans of a stream's active-hour items for `hours` (an item from before spans
    /// were recorded counts as spanning the whole hour).
    async fn hour_spans(
        &self,
        id: &Identity,
        group_id: &str,
        stream: &str,
        hours: &[i64],
    ) -> Result<HashMap<i64, i64>, ApiError> {
        let pk = keys::active(id, group_id);
        let wanted: Vec<Key> =
            hours.iter().map(|h| Key { pk: pk.clone(), sk: keys::active_hour(*h, stream) }).collect();
        let mut out = HashMap::new();
        for item in self.db().batch_get(&wanted, true).await? {
            let Some(sk) = get_s(&item, SK) else { continue };
            let Some(hour) = hours.iter().find(|h| keys::active_hour(**h, stream) == sk) else { continue };
            out.insert(*hour, get_n(&item, attr::SPAN).unwrap_or(CHUNK_SPAN_MAX));
        }
        Ok(out)
    }

    /// The events of a chunk item as the table's stream carried it (the fan-out's input): its
    /// positions and messages, in order, reading its parts when it has any.
    pub async fn chunk_events(&self, item: Item) -> Result<Vec<(Pos, String)>, ApiError> {
        let meta = ChunkMeta::of(&item)?;
        let pk = get_s(&item, keys::PK).unwrap_or_default().to_owned();
        let chunk = self.load_chunk(&pk, meta, item).await?;
        Ok(chunk
            .events
            .into_iter()
            .enumerate()
            .map(|(idx, (ts, message))| {
                (Pos { ts, ing: chunk.ingestion, chunk: chunk.id.clone(), idx: idx as u32 }, message)
            })
            .collect())
    }

    /// Decodes a chunk item, with the part items of a chunk larger than one item.
    async fn load_chunk(&self, pk: &str, meta: ChunkMeta, mut item: Item) -> Result<Chunk, ApiError> {
        let dictionary = self.chunk_dictionary(pk, &item).await?;
        let mut data = match item.remove(attr::DATA) {
            Some(AttributeValue::B(b)) => b.into_inner(),
            _ => return Err(ApiError::internal("chunk without data")),
        };
        if meta.parts > 0 {
            let range = Range::Between(keys::chunk_part(&meta.sk, 1), keys::chunk_part(&meta.sk, meta.parts));
            let items = self.db().all(Query::new(pk).range(range), meta.parts + 1).await?;
            // Written in one transaction with the chunk: a missing part is corruption.
            if items.len() != meta.parts {
                return Err(ApiError::internal("chunk with missing parts"));
            }
            for mut part in items {
                match part.remove(attr::DATA) {
                    Some(AttributeValue::B(b)) => data.extend_from_slice(b.as_ref()),
                    _ => return Err(ApiError::internal("chunk part without data")),
                }
            }
        }
        let events = decode_chunk(&data, meta.first, meta.raw, meta.format, dictionary.as_deref())?;
        Ok(Chunk { id: meta.id, ingestion: meta.ingestion, events })
    }

    /// Names of the group's streams with events in `[lo, hi)` (ms), by name, at most `max`, and
    /// what their active-hour items say of their chunks' spans in those hours and the one before
    /// (by the name as the key holds it), for the reads that follow.
    pub async fn active_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        lo: i64,
        hi: i64,
        prefix: Option<&str>,
        max: usize,
    ) -> Result<Active, ApiError> {
        let first = lo.div_euclid(HOUR);
        let (from, to) = keys::active_range(first - 1, (hi - 1).div_euclid(HOUR));
        let q = Query::new(keys::active(id, &group.id)).range(Range::Between(from, to)).project("sk, span");
        let mut names = BTreeSet::new();
        let mut spans: HashMap<String, HashMap<i64, i64>> = HashMap::new();
        for item in self.db().all(q, usize::MAX).await? {
            // The name as its key holds it (a very long one hashed: it still finds its stream);
            // a long prefix is matched on its head here and whole once the stream is read.
            let Some((hour, name)) = get_s(&item, SK).and_then(|sk| sk.split_once('#')) else { continue };
            let Ok(hour) = hour.parse::<i64>() else { continue };
            let span = get_n(&item, attr::SPAN).unwrap_or(CHUNK_SPAN_MAX);
            spans.entry(name.to_owned()).or_default().insert(hour, span);
            if hour >= first && prefix.is_none_or(|p| name.starts_with(keys::prefix_part(p, keys::NAME_BYTES).0)) {
                names.insert(name.to_owned());
            }
        }
        // Every hour of the window is known for every stream found: no item, no chunk there.
        for name in &names {
            let known = spans.entry(name.clone()).or_default();
            for h in first - 1..=(hi - 1).div_euclid(HOUR) {
                known.entry(h).or_insert(0);
            }
        }
        Ok(Active { names: names.into_iter().take(max).collect(), spans })
    }
}

/// The streams with events in a window, and their chunks' spans by hour.
#[derive(Debug, Default)]
pub struct Active {
    pub names: Vec<String>,
    /// By the stream's name as its key holds it (see `keys::name_part`).
    pub spans: HashMap<String, HashMap<i64, i64>>,
}

impl Active {
    /// The spans known for a stream.
    pub fn spans_of(&self, stream_name: &str) -> Option<&HashMap<i64, i64>> {
        self.spans.get(keys::name_part(stream_name, keys::NAME_BYTES).as_ref())
    }
}

fn finish(mut out: Vec<StoredEvent>, direction: Direction) -> Vec<StoredEvent> {
    if direction == Direction::Backward {
        out.reverse();
    }
    out
}
