//! The PutLogEvents path: chunks, the hours they fall in, and the stream's metadata.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::events::Event;
use logbook_model::logs::{LogGroup, LogStream, STREAM_MISSING};
use logbook_protocol::{ApiError, Identity};

use super::{HOUR, PART_BYTES, chunk_expiry, chunks, encode_chunk};
use crate::keys::{self, EXPIRES_AT, GSI1_SK, Key, Kind, PK, SK, attr};
use crate::table::{Expr, Txn, Write, n, s};
use crate::{Item, Store, lock};

/// (stream, hour) pairs a warm instance remembers before it forgets them all.
const ACTIVE_CACHE_MAX: usize = 100_000;

impl Store {
    /// Stores a batch (time-ordered, already accepted) and updates the stream's metadata. Returns
    /// once every chunk is durably written.
    pub async fn put_events(
        &self,
        id: &Identity,
        group: &LogGroup,
        stream: &LogStream,
        events: &[Event],
        ingestion: i64,
        sequence_token: &str,
    ) -> Result<(), ApiError> {
        let pk = keys::events(id, &stream.id);
        let writes = chunks(events).into_iter().map(|c| self.put_chunk(&pk, group, c, ingestion));
        // The stream's metadata is written alongside the chunks, not after them: one round trip
        // less per call. Nothing reads it to find events (AWS, too, calls it eventually
        // consistent), and the answer still waits for every write.
        let touch = async {
            match (events.first(), events.last()) {
                (Some(first), Some(last)) => {
                    self.touch_stream(id, group, stream, (first.timestamp, last.timestamp), ingestion, sequence_token)
                        .await
                }
                _ => Ok(()),
            }
        };
        let (chunks, active, touched) =
            futures::join!(futures::future::join_all(writes), self.mark_active(id, group, stream, events), touch);
        for r in chunks {
            r?;
        }
        active?;
        touched
    }

    /// Writes one chunk under a fresh id, conditionally on that id being new.
    async fn put_chunk(&self, pk: &str, group: &LogGroup, c: &[Event], ingestion: i64) -> Result<(), ApiError> {
        let chunk_id = ulid::Ulid::new().to_string();
        let first = c[0].timestamp;
        let last = c[c.len() - 1].timestamp;
        let sk = keys::chunk(first, &chunk_id);
        let encoded = encode_chunk(c)?;
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
        if let Some(e) = expires {
            item.insert(EXPIRES_AT.into(), n(e));
        }
        // A fresh ULID never exists already: a failed condition would be a broken id source.
        let in_use = || ApiError::internal("event chunk id already in use");
        if rest.is_empty() {
            return match self.db().put(item, Some(Expr::absent())).await? {
                Write::Done => Ok(()),
                Write::ConditionFailed => Err(in_use()),
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
            Txn::ConditionFailed(_) => Err(in_use()),
        }
    }

    /// Records the hours `events` (time-ordered) fall in, in the group's active-hour partition,
    /// each (stream, hour) once per warm instance. Written before the batch is acknowledged, so
    /// FilterLogEvents never misses a stream that has events in its window.
    async fn mark_active(
        &self,
        id: &Identity,
        group: &LogGroup,
        stream: &LogStream,
        events: &[Event],
    ) -> Result<(), ApiError> {
        let mut hours: Vec<i64> = events.iter().map(|e| e.timestamp.div_euclid(HOUR)).collect();
        hours.dedup();
        {
            let written = lock(&self.active_written);
            hours.retain(|h| !written.contains(&(stream.id.clone(), *h)));
        }
        let pk = keys::active(id, &group.id);
        let writes = hours.iter().map(|hour| {
            let last = (hour + 1) * HOUR - 1;
            let mut item = Item::new();
            item.insert(PK.into(), s(&pk));
            item.insert(SK.into(), s(keys::active_hour(*hour, &stream.name)));
            item.extend([Kind::Active.attribute()]);
            item.insert(attr::ID.into(), s(&stream.id));
            // The same TTL rule as a chunk ending at the hour's end, moved by the same sweep.
            item.insert(attr::MAX_TS.into(), n(last));
            if let Some(e) = chunk_expiry(last, group.retention_in_days) {
                item.insert(EXPIRES_AT.into(), n(e));
            }
            async move { self.db().put(item, None).await }
        });
        for r in futures::future::join_all(writes).await {
            let _: Write = r?;
        }
        let mut written = lock(&self.active_written);
        if written.len() > ACTIVE_CACHE_MAX {
            written.clear();
        }
        written.extend(hours.into_iter().map(|h| (stream.id.clone(), h)));
        Ok(())
    }

    /// Stream metadata after a write: ingestion time and token always; first/last event times
    /// only when they widen the stream's range (concurrent writers may arrive in any order).
    async fn touch_stream(
        &self,
        id: &Identity,
        group: &LogGroup,
        stream: &LogStream,
        (first, last): (i64, i64),
        ingestion: i64,
        token: &str,
    ) -> Result<(), ApiError> {
        let key = keys::stream(id, &group.id, &stream.name);
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
