//! The GetLogEvents / FilterLogEvents path: chunks of a time window, merged into event order.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::logs::{LogGroup, LogStream};
use logbook_protocol::{ApiError, Identity};

use super::{CHUNK_SPAN_MAX, Direction, HOUR, Pos, StoredEvent, decode_chunk};
use crate::keys::{self, EXPIRES_AT, Kind, SK, attr};
use crate::table::{Query, Range, get_n, get_s};
use crate::{Item, Store};

/// Chunks fetched per query while reading.
const CHUNKS_PER_QUERY: usize = 16;

/// One read of a stream's events: those with `lo <= timestamp < hi`, strictly after (forward)
/// or before (backward) `from`, in time order, at most `limit` events and `max_bytes` (message
/// bytes + 26 each). Events past their TTL at `now` are hidden.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    pub stream: &'a LogStream,
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
        let (from_sk, to_sk) = keys::chunk_range(lo - CHUNK_SPAN_MAX, hi - 1);
        let mut q = Query::new(&pk)
            .range(Range::Between(from_sk, to_sk))
            .backward(direction == Direction::Backward)
            .limit(CHUNKS_PER_QUERY);
        let mut pending: BTreeMap<Pos, (String, i64)> = BTreeMap::new();
        let mut out: Vec<StoredEvent> = Vec::new();
        let mut bytes = 0usize;
        loop {
            let page = self.db().page(&q).await?;
            let mut boundary: Option<i64> = None;
            for item in page.items {
                // A chunk's parts are read with their chunk.
                if get_s(&item, attr::TYPE) == Some(Kind::Part.as_str()) {
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
            // Events no later chunk can precede (forward) or follow (backward) are final.
            let safe = |p: &Pos| match (more, boundary, direction) {
                (false, _, _) | (_, None, _) => true,
                (true, Some(b), Direction::Forward) => p.ts < b,
                (true, Some(b), Direction::Backward) => p.ts > b + CHUNK_SPAN_MAX,
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
                Some(last) => q = q.after(Some(last)),
                None => return Ok(finish(out, direction)),
            }
        }
    }

    /// Decodes a chunk item, with the part items of a chunk larger than one item.
    async fn load_chunk(&self, pk: &str, meta: ChunkMeta, mut item: Item) -> Result<Chunk, ApiError> {
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
        let events = decode_chunk(&data, meta.first, meta.raw, meta.format)?;
        Ok(Chunk { id: meta.id, ingestion: meta.ingestion, events })
    }

    /// Names of the group's streams with events in `[lo, hi)` (ms), by name, at most `max`.
    pub async fn active_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        lo: i64,
        hi: i64,
        prefix: Option<&str>,
        max: usize,
    ) -> Result<Vec<String>, ApiError> {
        let (from, to) = keys::active_range(lo.div_euclid(HOUR), (hi - 1).div_euclid(HOUR));
        let q = Query::new(keys::active(id, &group.id)).range(Range::Between(from, to)).project("sk");
        let mut names = BTreeSet::new();
        for item in self.db().all(q, usize::MAX).await? {
            // The name as its key holds it (a very long one hashed: it still finds its stream);
            // a long prefix is matched on its head here and whole once the stream is read.
            if let Some(sk) = get_s(&item, SK)
                && let Some((_, name)) = sk.split_once('#')
                && prefix.is_none_or(|p| name.starts_with(keys::prefix_part(p, keys::NAME_BYTES).0))
            {
                names.insert(name.to_owned());
            }
        }
        Ok(names.into_iter().take(max).collect())
    }
}

fn finish(mut out: Vec<StoredEvent>, direction: Direction) -> Vec<StoredEvent> {
    if direction == Direction::Backward {
        out.reverse();
    }
    out
}
