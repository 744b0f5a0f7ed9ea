//! The PutLogEvents path: chunks, the hours they fall in, and the stream's metadata.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::events::Event;
use logbook_model::logs::{LogGroup, LogStream, STREAM_MISSING};
use logbook_protocol::{ApiError, Identity};

use super::{Dictionary, HOUR, PART_BYTES, chunk_expiry, chunks, encode_chunk};
use crate::keys::{self, EXPIRES_AT, GSI1_SK, Key, Kind, attr};
use crate::table::{Expr, Txn, Write, n, s};
use crate::{Item, Store, lock};

/// (stream, hour) pairs a warm instance remembers before it forgets them all.
const ACTIVE_CACHE_MAX: usize = 100_000;

/// A chunk id derived from the call's invocation id, the stream, the chunk's place in the batch
/// and its events: the same for every retry of one call, different for any other call and for
/// two equal chunks of one batch. 26 characters of Crockford base32 (128 bits of SHA-256), the
/// shape of the ULIDs used otherwise.
pub fn derived_chunk_id(invocation: &str, stream_id: &str, nth: usize, events: &[Event]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [invocation.as_bytes(), stream_id.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update((nth as u64).to_le_bytes());
    for e in events {
        h.update(e.timestamp.to_le_bytes());
        h.update((e.message.len() as u64).to_le_bytes());
        h.update(e.message.as_bytes());
    }
    let digest = h.finalize();
    let mut bits = u128::from_be_bytes(digest[..16].try_into().unwrap_or_default());
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every hour a batch's events fall in, each with the widest span (ms) of the chunks that start
/// in it (0 for an hour only reached by a chunk that started earlier).
fn hour_spans(events: &[Event], chunks: &[&[Event]]) -> BTreeMap<i64, i64> {
    let mut hours: BTreeMap<i64, i64> = events.iter().map(|e| (e.timestamp.div_euclid(HOUR), 0)).collect();
    for c in chunks {
        if let (Some(first), Some(last)) = (c.first(), c.last()) {
            let span = hours.entry(first.timestamp.div_euclid(HOUR)).or_default();
            *span = (*span).max(last.timestamp - first.timestamp);
        }
    }
    hours
}

impl Store {
    /// Stores a batch (time-ordered, already accepted) and updates the stream's metadata. Returns
    /// once every chunk is durably written.
    ///
    /// With `invocation` (the SDK's invocation id, the same on every retry of one call), each
    /// chunk's id is derived from it and the chunk's events, and written only if new: a retry
    /// of a call whose answer was lost finds its chunks stored and stores nothing twice, while
    /// another call carrying the same events (another invocation id) is kept too, as AWS keeps
    /// it. Without one (curl), chunk ids are random.
    ///
    /// The hours the batch touches are recorded first, with the widest span of the chunks that
    /// start in each: a chunk is never readable before the span that bounds how far a read must
    /// look back for it. In the usual case (a warm instance, no wider chunk) that is no write.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_events(
        &self,
        id: &Identity,
        group: &LogGroup,
        stream: &LogStream,
        events: &[Event],
        ingestion: i64,
        sequence_token: &str,
        invocation: Option<&str>,
    ) -> Result<(), ApiError> {
        let pk = keys::events(id, &stream.id);
        let parts = chunks(events);
        let dictionary = self.group_dictionary(id, group).await?;
        self.record_hours(id, group, stream, &hour_spans(events, &parts)).await?;
        let writes = parts.into_iter().enumerate().map(|(n, c)| {
            let chunk_id = invocation.map(|inv| derived_chunk_id(inv, &stream.id, n, c));
            self.put_chunk(&pk, group, stream, c, ingestion, chunk_id, dictionary.as_deref())
        });
        // The stream's metadata (first and last event times, last ingestion time) is settled by
        // the fan-out from the stored chunks, at most about once a minute per stream (the event
        // source's batching window): AWS documents `lastEventTimestamp` as eventually
        // consistent, and a write per call (with its `gsi1` entry) was half of a small batch's
        // cost. Only a stream's first batch writes it here, so a new stream shows its times (and
        // takes its place in `orderBy LastEventTime`) at once. Nothing reads it to find events.
        let touch = async {
            match (events.first(), events.last()) {
                (Some(first), Some(last)) if stream.first_event_timestamp.is_none() => {
                    self.touch_stream(
                        id,
                        &group.id,
                        stream,
                        (first.timestamp, last.timestamp),
                        ingestion,
                        sequence_token,
                    )
                    .await
                }
                _ => Ok(()),
            }
        };
        let (chunks, touched) = futures::join!(futures::future::join_all(writes), touch);
        for r in chunks {
            r?;
        }
        self.note_written(id, group, events.iter().map(|e| e.message.len()).sum()).await;
        touched
    }

    /// Writes one chunk, conditionally on its id being new: under `derived` (see
    /// [`derived_chunk_id`]) an existing chunk is this same chunk, written by an earlier attempt;
    /// under a fresh ULID it would be a broken id source.
    #[allow(clippy::too_many_arguments)]
    async fn put_chunk(
        &self,
        pk: &str,
        group: &LogGroup,
        stream: &LogStream,
        c: &[Event],
        ingestion: i64,
        derived: Option<String>,
        dictionary: Option<&Dictionary>,
    ) -> Result<(), ApiError> {
        let retry_safe = derived.is_some();
        let chunk_id = derived.unwrap_or_else(|| ulid::Ulid::new().to_string());
        let first = c[0].timestamp;
        let last = c[c.len() - 1].timestamp;
        let sk = keys::chunk(first, &chunk_id);
        let encoded = encode_chunk(c, dictionary)?;
        // A later retention change moves these TTLs in the background (`work.rs`).
        let expires = chunk_expiry(last, group.retention_in_days);
        let mut pieces = encoded.blob.chunks(PART_BYTES);
        let head = pieces.next().unwrap_or_default();
        let rest: Vec<&[u8]> = pieces.collect();
        let mut item: Item = Key { pk: pk.to_owned(), sk: sk.clone() }.item();
        item.extend([Kind::Chunk.attribute()]);
        item.insert(attr::MIN_TS.into(), n(first));
        item.insert(attr::MAX_TS.into(), n(last));
        item.insert(attr::COUNT.into(), n(c.len() as i64));
        item.insert(attr::RAW.into(), n(encoded.raw_len as i64));
        item.insert(attr::INGESTION.into(), n(ingestion));
        item.insert(attr::DATA.into(), AttributeValue::B(Blob::new(head)));
        item.insert(attr::FORMAT.into(), n(encoded.format));
        if let Some(d) = &encoded.dictionary {
            item.insert(attr::DICTIONARY.into(), s(d));
        }
        if let Some(e) = expires {
            item.insert(EXPIRES_AT.into(), n(e));
        }
        // The group has subscribers or metric filters (as read with the stream, consistently):
        // the chunk goes to the fan-out, addressed. A filter put while this call runs may miss
        // it; AWS too only promises events ingested after the filter exists.
        if group.subscription_filter_count > 0 || group.metric_filter_count > 0 {
            item.insert(attr::FAN.into(), n(1));
            item.insert(attr::CHUNK_GROUP.into(), s(&group.name));
        }
        // Every chunk names its stream: the fan-out settles the stream's metadata from it.
        item.insert(attr::CHUNK_GROUP_ID.into(), s(&group.id));
        item.insert(attr::CHUNK_STREAM_ID.into(), s(&stream.id));
        item.insert(attr::CHUNK_STREAM.into(), s(&stream.name));
        let in_use = || {
            if retry_safe { Ok(()) } else { Err(ApiError::internal("event chunk id already in use")) }
        };
        if rest.is_empty() {
            return match self.db().put(item, Some(Expr::absent())).await? {
                Write::Done => Ok(()),
                Write::ConditionFailed => in_use(),
            };
        }
        // A chunk over one item (a single event of up to 1 MB that does not compress): the rest
        // of its frame in part items, all written in one transaction, so a reader sees the whole
        // chunk or none of it.
        item.insert(attr::PARTS.into(), n(rest.len() as i64));
        let mut items = vec![item];
        for (i, piece) in rest.iter().enumerate() {
            let mut part = Key { pk: pk.to_owned(), sk: keys::chunk_part(&sk, i + 1) }.item();
            part.extend([Kind::Part.attribute()]);
            // The retention sweep moves every item with a `maxTs`.
            part.insert(attr::MAX_TS.into(), n(last));
            part.insert(attr::DATA.into(), AttributeValue::B(Blob::new(*piece)));
            if let Some(e) = expires {
                part.insert(EXPIRES_AT.into(), n(e));
            }
            items.push(part);
        }
        let puts = items
            .into_iter()
            .map(|i| self.db().txn_put(i, Some(Expr::absent())))
            .collect::<Result<Vec<_>, ApiError>>()?;
        match self.db().transact(puts).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => in_use(),
        }
    }

    /// Records, in the group's active-hour partition, the hours a batch touches (FilterLogEvents
    /// finds a window's streams there) and, per hour, the widest span of the chunks that start
    /// in it. Each (stream, hour) item is written once per warm instance, and again only for a
    /// wider chunk; the span only ever grows (a conditional write), whichever writer comes first.
    async fn record_hours(
        &self,
        id: &Identity,
        group: &LogGroup,
        stream: &LogStream,
        spans: &BTreeMap<i64, i64>,
    ) -> Result<(), ApiError> {
        let widest = spans.values().copied().max().unwrap_or(0);
        let stream_span = self.widen_stream_span(id, group, stream, widest);
        let due: Vec<(i64, i64)> = {
            let written = lock(&self.active_written);
            spans
                .iter()
                .filter(|(h, span)| written.get(&(stream.id.clone(), **h)).is_none_or(|known| known < span))
                .map(|(h, s)| (*h, *s))
                .collect()
        };
        if due.is_empty() {
            return stream_span.await;
        }
        let pk = keys::active(id, &group.id);
        let writes = due.iter().map(|(hour, span)| {
            let last = (hour + 1) * HOUR - 1;
            let key = Key { pk: pk.clone(), sk: keys::active_hour(*hour, &stream.name) };
            let mut sets = vec!["#type = :type", "#id = :id", "#max = :max", "#span = :span"];
            let mut e = Expr::default()
                .name("#type", attr::TYPE)
                .name("#id", attr::ID)
                .name("#max", attr::MAX_TS)
                .name("#span", attr::SPAN)
                .value(":type", s(Kind::Active.as_str()))
                .value(":id", s(&stream.id))
                // The same TTL rule as a chunk ending at the hour's end, moved by the same sweep.
                .value(":max", n(last))
                .value(":span", n(*span));
            if let Some(expires) = chunk_expiry(last, group.retention_in_days) {
                sets.push("#e = :e");
                e = e.name("#e", EXPIRES_AT).value(":e", n(expires));
            }
            // A new item, or a wider span. An item from before spans were recorded (no `span`)
            // stays as it is: reads treat it as spanning the whole hour.
            let e = Expr::update(format!("SET {}", sets.join(", ")))
                .merge(e.and_when("attribute_not_exists(pk) OR #span < :span"));
            async move { self.db().update(&key, e).await }
        });
        let (hours, stream_span) = futures::join!(futures::future::join_all(writes), stream_span);
        stream_span?;
        for r in hours {
            // A failed condition: a span at least as wide is there already.
            let _: Write = r?;
        }
        let mut written = lock(&self.active_written);
        if written.len() > ACTIVE_CACHE_MAX {
            written.clear();
        }
        for (hour, span) in due {
            written.insert((stream.id.clone(), hour), span);
        }
        Ok(())
    }

    /// Widens the stream's `maxSpan` to `span` when the stream as read says it is narrower (a
    /// stale read costs one write whose condition fails). A stream made before spans were
    /// recorded has none and gets none: its past chunks' spans are unknown.
    async fn widen_stream_span(
        &self,
        id: &Identity,
        group: &LogGroup,
        stream: &LogStream,
        span: i64,
    ) -> Result<(), ApiError> {
        if stream.max_span.is_none_or(|known| known >= span) {
            return Ok(());
        }
        let key = keys::stream(id, &group.id, &stream.name);
        let e = Expr::update("SET #ms = :ms")
            .name("#ms", attr::MAX_SPAN)
            .name("#id", attr::ID)
            .value(":ms", n(span))
            .value(":id", s(&stream.id))
            // Never on a stream deleted (or deleted and made again) meanwhile; only wider.
            .and_when("#id = :id AND (attribute_not_exists(#ms) OR #ms < :ms)");
        let _: Write = self.db().update(&key, e).await?;
        Ok(())
    }

    /// Stream metadata after a write: ingestion time and token always; first/last event times
    /// only when they widen the stream's range (concurrent writers may arrive in any order).
    /// Settles a stream's metadata from chunks the fan-out saw: `(first, last)` event times and
    /// the latest ingestion time among them. A stream deleted (or made again) meanwhile is left
    /// alone.
    pub async fn settle_stream(
        &self,
        id: &Identity,
        group_id: &str,
        stream_name: &str,
        stream_id: &str,
        (first, last): (i64, i64),
        ingestion: i64,
    ) -> Result<(), ApiError> {
        let stream: Option<LogStream> = self.db().get(&keys::stream(id, group_id, stream_name)).await?;
        let Some(stream) = stream.filter(|s| s.id == stream_id) else { return Ok(()) };
        let token = format!("{:056}", ingestion);
        match self.touch_stream(id, group_id, &stream, (first, last), ingestion, &token).await {
            Err(e) if e.status() < 500 => Ok(()),
            other => other,
        }
    }

    async fn touch_stream(
        &self,
        id: &Identity,
        group_id: &str,
        stream: &LogStream,
        (first, last): (i64, i64),
        ingestion: i64,
        token: &str,
    ) -> Result<(), ApiError> {
        let key = keys::stream(id, group_id, &stream.name);
        let same_stream = || Expr::when("id = :sid").value(":sid", s(&stream.id));
        let always = || {
            Expr::default()
                .name("#i", attr::LAST_INGESTION)
                .name("#t", attr::SEQUENCE_TOKEN)
                .value(":i", n(ingestion))
                .value(":t", s(token))
        };
        let newest = || {
            Expr::when("attribute_not_exists(#l) OR #l < :l")
                .name("#l", attr::LAST_EVENT)
                .name("#g", GSI1_SK)
                .value(":l", n(last))
                .value(":g", s(keys::stream_by_time(Some(last), &stream.name)))
        };
        let oldest =
            || Expr::when("attribute_not_exists(#f) OR #f > :f").name("#f", attr::FIRST_EVENT).value(":f", n(first));
        // Usually one write: the stream as read tells which times widen. Each extra write costs a
        // unit, and a GSI key change two more; at 100-event batches that is most of the bill.
        let widens_last = stream.last_event_timestamp.is_none_or(|l| l < last);
        let widens_first = stream.first_event_timestamp.is_none_or(|f| f > first);
        let mut sets = vec!["#i = :i", "#t = :t"];
        let mut one = same_stream().merge(always());
        if widens_last {
            sets.extend(["#l = :l", "#g = :g"]);
            one = one.merge(newest());
        }
        if widens_first {
            sets.push("#f = :f");
            one = one.merge(oldest());
        }
        let one = Expr::update(format!("SET {}", sets.join(", "))).merge(one);
        match self.db().update(&key, one).await? {
            Write::Done => return Ok(()),
            // A concurrent writer widened the range past ours meanwhile: the careful path below.
            Write::ConditionFailed if widens_last || widens_first => {}
            Write::ConditionFailed => return Err(ApiError::not_found(STREAM_MISSING)),
        }
        let t = self.db();
        let (a, b, c) = futures::join!(
            t.update(&key, Expr::update("SET #i = :i, #t = :t").merge(same_stream()).merge(always())),
            t.update(&key, Expr::update("SET #l = :l, #g = :g").merge(same_stream()).merge(newest())),
            t.update(&key, Expr::update("SET #f = :f").merge(same_stream()).merge(oldest())),
        );
        if a? == Write::ConditionFailed {
            return Err(ApiError::not_found(STREAM_MISSING));
        }
        // A failed condition here only means the stream's range did not widen.
        let _: (Write, Write) = (b?, c?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_get_the_widest_span_of_the_chunks_starting_in_them() {
        let ev = |ts: i64| Event { timestamp: ts, message: "m".into() };
        let events = [ev(10), ev(30), ev(HOUR - 5), ev(HOUR + 20), ev(3 * HOUR + 1)];
        let parts: Vec<&[Event]> = vec![&events[..2], &events[2..4], &events[4..]];
        let spans = hour_spans(&events, &parts);
        assert_eq!(spans.into_iter().collect::<Vec<_>>(), [(0, 25), (1, 0), (3, 0)]);
    }

    #[test]
    fn derived_ids_repeat_for_a_retry_and_differ_otherwise() {
        let ev = |m: &str| Event { timestamp: 5, message: m.into() };
        let batch = [ev("a"), ev("b")];
        let id = derived_chunk_id("inv-1", "01S", 0, &batch);
        assert_eq!(id.len(), 26);
        assert!(crate::is_id(&id, 32));
        assert_eq!(id, derived_chunk_id("inv-1", "01S", 0, &batch), "a retry");
        assert_ne!(id, derived_chunk_id("inv-2", "01S", 0, &batch), "another call");
        assert_ne!(id, derived_chunk_id("inv-1", "01T", 0, &batch), "another stream");
        assert_ne!(id, derived_chunk_id("inv-1", "01S", 1, &batch), "an equal chunk later in the batch");
        assert_ne!(id, derived_chunk_id("inv-1", "01S", 0, &[ev("ab")]), "other events");
        assert_ne!(
            derived_chunk_id("inv-1", "01S", 0, &[ev("a"), ev("bc")]),
            derived_chunk_id("inv-1", "01S", 0, &[ev("ab"), ev("c")])
        );
    }
}
