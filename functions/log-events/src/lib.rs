//! The log-events action group: PutLogEvents and GetLogEvents over packed event chunks.

use logbook_model::TokenCodec;
use logbook_model::events::{
    FilterLogEventsRequest, GetLogEventsRequest, MAX_BATCH_BYTES, MAX_FUTURE_MS, PutLogEventsRequest,
};
use logbook_model::identifiers;
use logbook_model::logs::LogStream;
use logbook_model::token::Pager;
use logbook_protocol::{ApiError, Call, Dispatch, ops};
use logbook_storage::events::read::Active;
use logbook_storage::events::{Direction, Pos, Read};
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct LogEvents {
    pub store: Store,
    pub tokens: TokenCodec,
}

const DAY: i64 = 86_400_000;
/// Events one FilterLogEvents call may scan before it answers with what it found and a token,
/// as AWS does, so one call never scans without bound.
pub const FILTER_SCAN_BUDGET: usize = 100_000;
/// Streams one FilterLogEvents call searches (a group with more is searched in this many).
pub const FILTER_MAX_STREAMS: usize = 1_000;
/// Windows up to this long find their streams through the group's active hours (one query per
/// ~2,000 streams-hours); longer ones read every stream.
pub const ACTIVE_WINDOW_MAX: i64 = 7 * DAY;

/// A FilterLogEvents position: events are ordered by (timestamp, stream id, ingestion time,
/// chunk, index).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct FilterPos {
    ts: i64,
    stream: String,
    #[serde(default)]
    ing: i64,
    chunk: String,
    idx: u32,
}

impl logbook_model::token::Cursor for FilterPos {
    fn in_range(&self) -> bool {
        self.ts >= 0 && logbook_storage::is_id(&self.stream, 32) && logbook_storage::is_id(&self.chunk, 32)
    }
}

impl FilterPos {
    /// Where to start reading `stream` so that only events after `self` come back.
    fn for_stream(&self, stream: &str) -> Pos {
        match stream.cmp(self.stream.as_str()) {
            // Same timestamp sorts before us: only later timestamps remain.
            std::cmp::Ordering::Less => Pos { ts: self.ts, ing: i64::MAX, chunk: "~".into(), idx: u32::MAX },
            std::cmp::Ordering::Equal => Pos { ts: self.ts, ing: self.ing, chunk: self.chunk.clone(), idx: self.idx },
            // Same timestamp sorts after us: all of it remains.
            std::cmp::Ordering::Greater => Pos { ts: self.ts, ing: i64::MIN, chunk: String::new(), idx: 0 },
        }
    }
}

/// `f/…` or `b/…`: the direction and a signed position, bound to the stream incarnation.
fn seal_position(pager: &Pager<'_>, direction: Direction, pos: &Pos) -> String {
    let prefix = if direction == Direction::Forward { "f/" } else { "b/" };
    format!("{prefix}{}", pager.seal(pos))
}

fn open_position(pager: &Pager<'_>, token: &str) -> Result<(Direction, Pos), ApiError> {
    let invalid = || ApiError::invalid_parameter("The specified nextToken is invalid.");
    let (direction, rest) = match token.split_at_checked(2) {
        Some(("f/", rest)) => (Direction::Forward, rest),
        Some(("b/", rest)) => (Direction::Backward, rest),
        _ => return Err(invalid()),
    };
    Ok((direction, pager.open(rest)?))
}

impl Dispatch for LogEvents {
    type Op = ops::LogEvents;

    async fn dispatch(&self, op: ops::LogEvents, call: &Call) -> Result<Value, ApiError> {
        use ops::LogEvents as Op;
        match op {
            Op::FilterLogEvents => self.filter_log_events(call).await,
            Op::GetLogEvents => self.get_log_events(call).await,
            Op::PutLogEvents => self.put_log_events(call).await,
        }
    }
}

impl LogEvents {
    async fn put_log_events(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<PutLogEventsRequest>()?.validate()?;
        let (group, stream) = self.store.group_and_stream(id, &cmd.group, &cmd.stream).await?;
        let now = now_millis();
        let (events, rejected) = cmd.accept(now, group.retention_in_days)?;
        // AWS ignores sequence tokens; it still hands one out.
        let token = format!("{:056}", u128::from(ulid::Ulid::new()) % 10u128.pow(38));
        if !events.is_empty() {
            self.store.put_events(id, &group, &stream, &events, now, &token, call.invocation_id.as_deref()).await?;
        }
        let mut body = json!({ "nextSequenceToken": token });
        if !rejected.is_empty() {
            body["rejectedLogEventsInfo"] = serde_json::to_value(&rejected).map_err(ApiError::internal)?;
        }
        Ok(body)
    }

    async fn get_log_events(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = identifiers::resolve(call.decode::<GetLogEventsRequest>()?, &call.identity)?.validate()?;
        let (group, stream) = self.store.group_and_stream(id, &cmd.group, &cmd.stream).await?;
        let now = now_millis();
        let pager = self.tokens.pager(call.action, id, &stream.id);
        let (direction, from) = match &cmd.next_token {
            Some(t) => open_position(&pager, t)?,
            None if cmd.start_from_head => (Direction::Forward, Pos::start()),
            None => (Direction::Backward, Pos::end()),
        };
        let read = Read {
            group_id: &group.id,
            stream: &stream,
            spans: None,
            lo: cmd.start.unwrap_or(0).max(group.retention_floor(now)),
            hi: cmd.end.unwrap_or(i64::MAX),
            from: &from,
            direction,
            limit: cmd.limit,
            max_bytes: MAX_BATCH_BYTES,
            now,
        };
        let events = self.store.read_events(id, &read).await?;
        let (forward, backward) = match (events.first(), events.last()) {
            (Some(first), Some(last)) => (
                seal_position(&pager, Direction::Forward, &last.pos),
                seal_position(&pager, Direction::Backward, &first.pos),
            ),
            // Nothing further: the token sent comes back unchanged (SDK paginators stop on it);
            // the other direction continues from the same position.
            _ => match (&cmd.next_token, direction) {
                (Some(t), Direction::Forward) => (t.clone(), seal_position(&pager, Direction::Backward, &from)),
                (Some(t), Direction::Backward) => (seal_position(&pager, Direction::Forward, &from), t.clone()),
                (None, _) => (
                    seal_position(&pager, Direction::Forward, &Pos::start()),
                    seal_position(&pager, Direction::Backward, &Pos::end()),
                ),
            },
        };
        let events: Vec<Value> = events
            .iter()
            .map(|e| json!({ "timestamp": e.pos.ts, "message": e.message, "ingestionTime": e.ingestion_time }))
            .collect();
        Ok(json!({ "events": events, "nextForwardToken": forward, "nextBackwardToken": backward }))
    }
}

impl LogEvents {
    async fn filter_log_events(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = identifiers::resolve(call.decode::<FilterLogEventsRequest>()?, &call.identity)?.validate()?;
        let group = self.store.require_group(id, &cmd.group).await?;
        let now = now_millis();
        let pager = self.tokens.pager(call.action, id, &(&group.id, &cmd.fingerprint));
        let after: Option<FilterPos> = pager.start(cmd.next_token.as_deref())?;

        let lo = cmd.start.unwrap_or(0).max(group.retention_floor(now));
        let hi = cmd.end.map_or(i64::MAX, |e| e.saturating_add(1));
        // No stored event is later than this: each was at most 2 h ahead of its ingestion.
        let newest = hi.min(now.saturating_add(MAX_FUTURE_MS + 1));

        // Named streams; for a bounded window, only the streams with events in it, from the
        // group's active hours; otherwise every stream.
        let mut active = Active::default();
        let names = match &cmd.streams {
            Some(names) => Some(names.clone()),
            None if newest.saturating_sub(lo) <= ACTIVE_WINDOW_MAX => {
                active = self
                    .store
                    .active_streams(id, &group, lo, newest, cmd.prefix.as_deref(), FILTER_MAX_STREAMS)
                    .await?;
                Some(active.names.clone())
            }
            None => None,
        };
        let mut streams = match names {
            // Read them in parallel, not one round trip after another.
            Some(names) => {
                let gets = names.iter().map(|n| self.store.get_stream(id, &group, n));
                let mut found = Vec::new();
                for s in futures::future::join_all(gets).await {
                    found.extend(s?);
                }
                found
            }
            None => self.store.all_streams(id, &group, cmd.prefix.as_deref(), FILTER_MAX_STREAMS).await?,
        };
        if let Some(p) = cmd.prefix.as_deref() {
            streams.retain(|s| s.name.starts_with(p));
        }
        streams.sort_by(|a, b| a.id.cmp(&b.id));
        streams.dedup_by(|a, b| a.id == b.id);
        let per_stream = (FILTER_SCAN_BUDGET / streams.len().max(1)).clamp(100, MAX_SCAN_PER_STREAM);

        // Read each stream after the token's position; a stream that hit its share of the scan
        // budget bounds how far the merged result is complete.
        let starts: Vec<Pos> =
            streams.iter().map(|s| after.as_ref().map_or_else(Pos::start, |a| a.for_stream(&s.id))).collect();
        let reads: Vec<Read> = streams
            .iter()
            .zip(&starts)
            .map(|(stream, from)| Read {
                group_id: &group.id,
                stream,
                spans: active.spans_of(&stream.name),
                lo,
                hi,
                from,
                direction: Direction::Forward,
                limit: per_stream,
                max_bytes: usize::MAX,
                now,
            })
            .collect();
        let results = futures::future::join_all(reads.iter().map(|r| self.store.read_events(id, r))).await;
        let mut bound: Option<FilterPos> = None;
        let mut found: Vec<(FilterPos, &LogStream, String, i64)> = Vec::new();
        let mut searched = Vec::new();
        for (stream, result) in streams.iter().zip(results) {
            let events = result?;
            let capped = events.len() >= per_stream;
            if capped && let Some(last) = events.last() {
                let key = FilterPos {
                    ts: last.pos.ts,
                    stream: stream.id.clone(),
                    ing: last.pos.ing,
                    chunk: last.pos.chunk.clone(),
                    idx: last.pos.idx,
                };
                bound = Some(bound.map_or(key.clone(), |b| b.min(key)));
            }
            searched.push(json!({ "logStreamName": stream.name, "searchedCompletely": !capped }));
            for e in events {
                if cmd.pattern.matches(&e.message) {
                    let key = FilterPos {
                        ts: e.pos.ts,
                        stream: stream.id.clone(),
                        ing: e.pos.ing,
                        chunk: e.pos.chunk,
                        idx: e.pos.idx,
                    };
                    found.push((key, stream, e.message, e.ingestion_time));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(b) = &bound {
            found.retain(|(k, ..)| k <= b);
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut last: Option<FilterPos> = None;
        let mut truncated = false;
        for (key, stream, message, ingestion) in found {
            let size = message.len() + 26;
            if out.len() >= cmd.limit || bytes + size > MAX_BATCH_BYTES {
                truncated = true;
                break;
            }
            bytes += size;
            out.push(json!({
                "logStreamName": stream.name,
                "timestamp": key.ts,
                "message": message,
                "ingestionTime": ingestion,
                "eventId": logbook_storage::events::event_id(&stream.id, key.ts, &key.chunk, key.idx),
            }));
            last = Some(key);
        }
        // More remains when the page filled up, or when a stream's scan share ran out.
        let next = match (truncated, last, bound) {
            (true, Some(l), _) => Some(l),
            (false, Some(l), Some(b)) => Some(l.max(b)),
            (false, None, Some(b)) => Some(b),
            (_, _, None) | (true, None, _) => None,
        };
        let mut body = json!({ "events": out, "searchedLogStreams": searched });
        if let Some(n) = next {
            body["nextToken"] = json!(pager.seal(&n));
        }
        Ok(body)
    }
}

/// Raw events one stream may contribute to one FilterLogEvents call.
const MAX_SCAN_PER_STREAM: usize = 20_000;
