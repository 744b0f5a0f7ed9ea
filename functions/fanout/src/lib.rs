//! The fan-out: everything that happens after ingest reads newly stored items here, through one
//! path: subscription delivery, metric filters' contributions (stored here, each chunk counted
//! once, published by the maintenance worker: see `logbook_storage::metrics`), trails' records to
//! their log groups ([`trails`]), and every stream's metadata (first and last event times, last
//! ingestion time), settled from its chunks once per batch. Deployed, the table's DynamoDB stream
//! feeds this function through two event source mappings: chunk inserts of groups with
//! subscription or metric filters and audit record inserts, at once; every other chunk insert
//! batched for up to a minute (it only settles metadata). Locally, `scripts/serve` reads
//! DynamoDB Local's stream and invokes the same binary the same way.
//!
//! A batch is handled in stream order. Consecutive records of one log stream are delivered
//! together; a delivery that fails in a way that may pass later (throttling, 5xx, a target that
//! is down) is retried with backoff, then reported as the batch's first failed record
//! (`batchItemFailures`): the event source checkpoints everything before it and retries from
//! it, so nothing is lost and one log stream's events never overtake each other. Retries stop
//! 24 hours after ingestion, as AWS's do; what is dropped then, or at once for a failure that
//! cannot pass (a missing target, a refused permission, a deleted destination), is logged and
//! counted on the filter (`droppedEvents`).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use logbook_delivery::{Failure, Target, Targets, messages, partition_key};
use logbook_filter::FilterPattern;
use logbook_model::datapoints::{Delta, Evaluator};
use logbook_model::subscriptions::{DeliveredEvent, SubscriptionFilter, TargetArn, extracted_fields, policy_allows};
use logbook_protocol::{ApiError, Identity};
use logbook_storage::events::{Pos, event_id};
use logbook_storage::keys::{Kind, attr, sequence40};
use logbook_storage::metrics::MAX_STREAMS_PER_DELTA;
use logbook_storage::table::{get_n, get_s};
use logbook_storage::{Item, Store, now_millis};
use serde_json::{Value, json};

/// How long AWS keeps retrying a delivery before dropping it.
pub const RETRY_WINDOW_MS: i64 = 24 * 3_600_000;
/// What a batch reads once per group: its subscription filters and its metric filters.
struct GroupFilters {
    subscriptions: Vec<SubscriptionFilter>,
    metrics: Evaluator,
}

/// Records of one log stream delivered together at most (a unit is one set of messages).
const UNIT_RECORDS: usize = 25;

/// Retries of a failing delivery within one invocation, before the batch is handed back.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Deployed: about a minute of retries per invocation (the event source then invokes again).
    pub const DEPLOYED: Backoff =
        Backoff { attempts: 7, first: Duration::from_millis(500), max: Duration::from_secs(20) };

    fn delay(&self, attempt: u32) -> Duration {
        let d = self.first.saturating_mul(1 << attempt.min(16));
        let d = d.min(self.max);
        // Full jitter keeps many failing streams from retrying in step.
        d.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

pub mod trails;

pub struct Fanout {
    pub store: Store,
    pub targets: Targets,
    pub backoff: Backoff,
    /// Only this account's chunks (tests share one table and its stream); all when none.
    pub scope: Option<String>,
    /// Trails deliver data events (PutLogEvents, …) to their log groups too.
    pub data_events: bool,
}

/// One record of the table's stream as the event source passes it.
#[derive(Debug, Clone)]
pub struct Record {
    pub sequence: String,
    /// The new image of an inserted chunk worth delivering; `None` for anything else.
    pub chunk: Option<Item>,
    /// The new image of an inserted audit record (for trails' log groups).
    pub audit: Option<Item>,
    /// An inserted chunk's stream and times, for its stream's metadata (every chunk).
    pub touch: Option<Touch>,
}

/// What a stored chunk tells about its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub account: String,
    pub region: String,
    pub group_id: String,
    pub stream: String,
    pub stream_id: String,
    pub first: i64,
    pub last: i64,
    pub ingestion: i64,
}

impl Touch {
    fn of(chunk: &Item) -> Option<Touch> {
        let pk = get_s(chunk, "pk")?;
        let mut parts = pk.splitn(3, '#');
        Some(Touch {
            account: parts.next()?.to_owned(),
            region: parts.next()?.to_owned(),
            group_id: get_s(chunk, attr::CHUNK_GROUP_ID)?.to_owned(),
            stream: get_s(chunk, attr::CHUNK_STREAM)?.to_owned(),
            stream_id: get_s(chunk, attr::CHUNK_STREAM_ID)?.to_owned(),
            first: get_n(chunk, attr::MIN_TS)?,
            last: get_n(chunk, attr::MAX_TS)?,
            ingestion: get_n(chunk, attr::INGESTION)?,
        })
    }
}

/// What one delivery of a unit to one filter came to.
enum Sent {
    Done,
    /// Dropped for good (logged and counted).
    Dropped,
    /// Worth trying again: the batch stops here.
    Retry(Failure),
}

impl Fanout {
    /// The Lambda handler's body: a DynamoDB stream event in, the batch item failures out.
    pub async fn handle(&self, event: &Value) -> Value {
        let records = parse_event(event);
        let failed = self.deliver(&records).await;
        let failures: Vec<Value> = failed.into_iter().map(|s| json!({ "itemIdentifier": s })).collect();
        json!({ "batchItemFailures": failures })
    }

    /// Delivers `records`; on a failure that may pass, returns the sequence number of the first
    /// record not done (the event source retries from it, with everything after it).
    ///
    /// Log streams go at once, each stream's chunks one unit after another, in stream order (a
    /// stream's chunks share a partition key, so the table's stream keeps their order). A stream
    /// that fails stops there; the others go on, and what they delivered after the failed record
    /// is sent again with the retry (at least once).
    pub async fn deliver(&self, records: &[Record]) -> Option<String> {
        let in_scope = |item: &Item| {
            self.scope
                .as_ref()
                .is_none_or(|a| get_s(item, "pk").and_then(|pk| pk.split('#').next()) == Some(a.as_str()))
        };
        let audit: Vec<trails::NewRecord> = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.audit.as_ref().filter(|a| in_scope(a)).and_then(|a| trails::audit_record(i, a)))
            .collect();
        let trail_failed = trails::deliver(&self.store, &audit, self.data_events).await;
        let (chunks_failed, settle_failed) = futures::join!(self.deliver_chunks(records), self.settle_streams(records));
        [trail_failed, chunks_failed, settle_failed].into_iter().flatten().min().map(|i| records[i].sequence.clone())
    }

    /// Each stream's metadata from the batch's chunks: one settle per stream (its earliest first
    /// event, latest last event and ingestion). On a fault, the index of that stream's first
    /// record (retried with everything after it; settling again is harmless).
    async fn settle_streams(&self, records: &[Record]) -> Option<usize> {
        let in_scope = |t: &Touch| self.scope.as_ref().is_none_or(|a| *a == t.account);
        let mut streams: Vec<(usize, Touch)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let Some(t) = r.touch.as_ref().filter(|t| in_scope(t)) else { continue };
            match streams.iter_mut().find(|(_, s)| s.stream_id == t.stream_id) {
                Some((_, s)) => {
                    s.first = s.first.min(t.first);
                    s.last = s.last.max(t.last);
                    s.ingestion = s.ingestion.max(t.ingestion);
                }
                None => streams.push((i, t.clone())),
            }
        }
        let settled = futures::future::join_all(streams.iter().map(|(i, t)| async move {
            let id = Identity::of(&t.account, &t.region);
            let r = self
                .store
                .settle_stream(&id, &t.group_id, &t.stream, &t.stream_id, (t.first, t.last), t.ingestion)
                .await;
            r.err().map(|e| {
                tracing::warn!(detail = %detail(e), stream = %t.stream, "stream metadata will be retried");
                *i
            })
        }))
        .await;
        settled.into_iter().flatten().min()
    }

    /// The chunks' part of [`Fanout::deliver`]: the index of the first record to retry from.
    async fn deliver_chunks(&self, records: &[Record]) -> Option<usize> {
        let mut queues: Vec<Vec<usize>> = Vec::new();
        let mut by_stream: HashMap<&str, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            let Some(pk) = r.chunk.as_ref().and_then(|c| get_s(c, "pk")) else { continue };
            if self.scope.as_ref().is_some_and(|a| pk.split('#').next() != Some(a.as_str())) {
                continue;
            }
            let q = *by_stream.entry(pk).or_insert_with(|| {
                queues.push(Vec::new());
                queues.len() - 1
            });
            queues[q].push(i);
        }
        // Each group's filters, read once for the batch.
        let mut groups: Vec<(String, String, String)> = Vec::new();
        for r in records {
            if let Some(key) = r.chunk.as_ref().and_then(group_of)
                && !groups.contains(&key)
            {
                groups.push(key);
            }
        }
        let loaded = futures::future::join_all(groups.iter().map(|(account, region, gid)| async move {
            let id = Identity::of(account, region);
            let (subscriptions, metrics) = futures::future::join(
                self.store.subscription_filters(&id, gid),
                self.store.metric_filters_of(&id, gid),
            )
            .await;
            Ok(GroupFilters {
                subscriptions: subscriptions.map_err(detail)?,
                metrics: Evaluator::new(gid, &metrics.map_err(detail)?),
            })
        }))
        .await;
        let filters: HashMap<&(String, String, String), Result<GroupFilters, String>> =
            groups.iter().zip(loaded).collect();
        // Metric filters first, for the whole batch at once: one write (see `count_metrics`).
        // A failure retries the batch from its start; the checkpoints skip what was counted.
        let metered: Vec<(&[usize], &Evaluator)> = queues
            .iter()
            .filter_map(|q| {
                let group = records[*q.first()?].chunk.as_ref().and_then(group_of)?;
                match filters.get(&group) {
                    Some(Ok(f)) if !f.metrics.is_empty() => Some((q.as_slice(), &f.metrics)),
                    _ => None,
                }
            })
            .collect();
        for some in metered.chunks(MAX_STREAMS_PER_DELTA) {
            if let Err(e) = self.count_metrics(records, some).await {
                let first = some.iter().map(|(q, _)| q[0]).min().unwrap_or_default();
                tracing::warn!(detail = %e, sequence = %records[first].sequence, "metric filters will be retried");
                return Some(first);
            }
        }
        let failed = futures::future::join_all(queues.iter().map(|queue| {
            let filters = &filters;
            async move {
                for unit in queue.chunks(UNIT_RECORDS) {
                    let chunks: Vec<&Item> = unit.iter().filter_map(|i| records[*i].chunk.as_ref()).collect();
                    let Some(group) = chunks.first().and_then(|c| group_of(c)) else { continue };
                    let result = match filters.get(&group) {
                        Some(Ok(f)) => self.deliver_unit(&chunks, f).await,
                        Some(Err(e)) => Err(e.clone()),
                        None => Ok(()),
                    };
                    if let Err(e) = result {
                        tracing::warn!(detail = %e, sequence = %records[unit[0]].sequence, "delivery will be retried");
                        return Some(unit[0]);
                    }
                }
                None
            }
        }))
        .await;
        failed.into_iter().flatten().min()
    }

    /// The batch's new chunks counted by their groups' metric filters, each once whatever the
    /// retries: each log stream's chunks at or before its checkpoint (the table-stream sequence
    /// number counted last) are skipped, and the contributions are stored in one transaction
    /// with the moved checkpoints (see `logbook_storage::metrics`). `queues`: each log stream's
    /// records, in order, with its group's filters.
    async fn count_metrics(&self, records: &[Record], queues: &[(&[usize], &Evaluator)]) -> Result<(), String> {
        let pks: Vec<&str> =
            queues.iter().filter_map(|(q, _)| records[q[0]].chunk.as_ref().and_then(|c| get_s(c, "pk"))).collect();
        if pks.len() != queues.len() {
            return Ok(());
        }
        let read = self.store.metric_checkpoints(&pks).await.map_err(detail)?;
        let mut delta = Delta::default();
        let mut moved: Vec<(&str, Option<&str>, String)> = Vec::new();
        for (((queue, metrics), pk), read) in queues.iter().zip(&pks).zip(&read) {
            let new: Vec<&Record> = queue
                .iter()
                .map(|i| &records[*i])
                .filter(|r| r.chunk.is_some() && read.as_ref().is_none_or(|c| sequence40(&r.sequence) > *c))
                .collect();
            let Some(last) = new.last().map(|r| sequence40(&r.sequence)) else { continue };
            let mut events: Vec<(Pos, String)> = Vec::new();
            for r in &new {
                if let Some(c) = &r.chunk {
                    events.extend(self.store.chunk_events(c.clone()).await.map_err(detail)?);
                }
            }
            let d = metrics.delta(events.iter().map(|(p, m)| (p.ts, p.ing, m.as_str())));
            if !d.is_empty() {
                delta.stats.extend(d.stats);
                delta.seen.extend(d.seen);
                moved.push((pk, read.as_deref(), last));
            }
        }
        if moved.is_empty() {
            return Ok(());
        }
        if self.store.record_metric_delta(&moved, &delta).await.map_err(detail)? {
            Ok(())
        } else {
            Err("another fan-out moved a log stream's metric checkpoint".to_owned())
        }
    }

    /// One log stream's chunks (in order) to every subscription filter of its group.
    async fn deliver_unit(&self, chunks: &[&Item], filters: &GroupFilters) -> Result<(), String> {
        let Some(first) = chunks.first() else { return Ok(()) };
        let Some((account, region, gid)) = group_of(first) else { return Ok(()) };
        let (Some(group), Some(stream), Some(stream_id)) =
            (get_s(first, attr::CHUNK_GROUP), get_s(first, attr::CHUNK_STREAM), get_s(first, attr::CHUNK_STREAM_ID))
        else {
            return Ok(());
        };
        if filters.subscriptions.is_empty() {
            return Ok(());
        }
        let id = Identity::of(&account, &region);
        let gid = gid.as_str();
        let filters = &filters.subscriptions;
        if filters.is_empty() {
            return Ok(());
        }
        let mut events: Vec<(Pos, String)> = Vec::new();
        for c in chunks {
            events.extend(self.store.chunk_events((*c).clone()).await.map_err(detail)?);
        }
        // Ingestion order, and time order within a call (its chunks may arrive in any order).
        events.sort_by(|(a, _), (b, _)| (a.ing, a.ts, &a.chunk, a.idx).cmp(&(b.ing, b.ts, &b.chunk, b.idx)));
        let oldest = chunks.iter().filter_map(|c| get_n(c, attr::INGESTION)).min().unwrap_or_else(now_millis);
        for f in filters {
            match self.deliver_to(&id, gid, group, stream, stream_id, f, &events).await {
                Sent::Done | Sent::Dropped => {}
                Sent::Retry(fail) if now_millis() - oldest > RETRY_WINDOW_MS => {
                    let n = events.iter().filter(|(p, _)| p.ing >= f.creation_time).count();
                    self.drop_events(&id, gid, group, stream, f, n, &format!("retried for 24 hours: {}", fail.detail))
                        .await;
                }
                Sent::Retry(fail) => return Err(fail.detail),
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn deliver_to(
        &self,
        id: &Identity,
        gid: &str,
        group: &str,
        stream: &str,
        stream_id: &str,
        f: &SubscriptionFilter,
        events: &[(Pos, String)],
    ) -> Sent {
        let Ok(pattern) = FilterPattern::parse(&f.filter_pattern) else { return Sent::Done };
        // Only events ingested once the filter existed.
        let matched: Vec<DeliveredEvent> = events
            .iter()
            .filter(|(p, m)| p.ing >= f.creation_time && pattern.matches(m))
            .map(|(p, m)| DeliveredEvent {
                id: event_id(stream_id, p.ts, &p.chunk, p.idx),
                timestamp: p.ts,
                message: m.clone(),
                extracted_fields: extracted_fields(&pattern, m),
            })
            .collect();
        if matched.is_empty() {
            return Sent::Done;
        }
        let target = match self.resolve(id, f).await {
            Ok(t) => t,
            Err(fail) if fail.retryable => return Sent::Retry(fail),
            Err(fail) => {
                self.drop_events(id, gid, group, stream, f, matched.len(), &fail.detail).await;
                return Sent::Dropped;
            }
        };
        let (msgs, too_big) =
            messages(&id.account_id, group, stream, &[&f.filter_name], &matched, target.max_message());
        if too_big > 0 {
            self.drop_events(id, gid, group, stream, f, too_big, "an event larger than the target takes").await;
        }
        let key = partition_key(&f.distribution, group, stream);
        let mut attempt = 0;
        loop {
            match self.targets.send(&target, &key, &msgs).await {
                Ok(()) => return Sent::Done,
                Err(fail) if !fail.retryable => {
                    self.drop_events(id, gid, group, stream, f, matched.len(), &fail.detail).await;
                    return Sent::Dropped;
                }
                Err(fail) if attempt + 1 >= self.backoff.attempts => return Sent::Retry(fail),
                Err(fail) => {
                    tracing::info!(filter = %f.filter_name, attempt, detail = %fail.detail, "delivery failed; retrying");
                    tokio::time::sleep(self.backoff.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The target a filter delivers to: its own, or its destination's (read now: a deleted
    /// destination, or one whose policy no longer lets the filter's account in, stops it).
    async fn resolve(&self, id: &Identity, f: &SubscriptionFilter) -> Result<Target, Failure> {
        match TargetArn::parse(&f.destination_arn) {
            TargetArn::Destination { region, account, name } => {
                let owner = Identity::of(&account, &region);
                let d = self
                    .store
                    .get_destination(&owner, &name)
                    .await
                    .map_err(|e| Failure { retryable: true, detail: detail(e) })?
                    .ok_or_else(|| Failure { retryable: false, detail: format!("destination {name} was deleted") })?;
                if account != id.account_id
                    && !d.access_policy.as_deref().is_some_and(|p| policy_allows(p, &id.account_id, &f.destination_arn))
                {
                    return Err(Failure {
                        retryable: false,
                        detail: format!("destination {name}'s access policy no longer allows {}", id.account_id),
                    });
                }
                Target::of(&d.target_arn, Some(&d.role_arn))
                    .ok_or_else(|| Failure { retryable: false, detail: "destination without a target".into() })
            }
            _ => Target::of(&f.destination_arn, f.role_arn.as_deref())
                .ok_or_else(|| Failure { retryable: false, detail: "filter without a target".into() }),
        }
    }

    /// Drops events for good: a log line an operator can find, and the filter's count.
    #[allow(clippy::too_many_arguments)]
    async fn drop_events(
        &self,
        id: &Identity,
        gid: &str,
        group: &str,
        stream: &str,
        f: &SubscriptionFilter,
        events: usize,
        reason: &str,
    ) {
        tracing::error!(
            account = %id.account_id, log_group = %group, log_stream = %stream, filter = %f.filter_name,
            destination = %f.destination_arn, events, reason, "subscription delivery dropped"
        );
        if let Err(e) = self.store.count_dropped(id, gid, &f.filter_name, events).await {
            tracing::warn!(detail = %detail(e), "could not count dropped events");
        }
    }
}

/// The (account, region, group id) a chunk belongs to, from its key and its `gid`; `None` for a
/// chunk not marked for the fan-out.
fn group_of(chunk: &Item) -> Option<(String, String, String)> {
    let pk = get_s(chunk, "pk")?;
    let mut parts = pk.splitn(3, '#');
    let (account, region) = (parts.next()?, parts.next()?);
    Some((account.to_owned(), region.to_owned(), get_s(chunk, attr::CHUNK_GROUP_ID)?.to_owned()))
}

fn detail(e: ApiError) -> String {
    e.detail().map_or_else(|| e.message.clone(), str::to_owned)
}

/// The records of a DynamoDB stream event (`{"Records":[…]}`), each with its new image when it
/// is an inserted chunk marked for the fan-out.
pub fn parse_event(event: &Value) -> Vec<Record> {
    let Some(records) = event["Records"].as_array() else { return Vec::new() };
    records
        .iter()
        .map(|r| {
            let sequence = r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_owned();
            let image = (r["eventName"] == "INSERT").then(|| image_to_item(&r["dynamodb"]["NewImage"])).flatten();
            let (mut chunk, mut audit, mut touch) = (None, None, None);
            match image {
                Some(item) if Kind::Chunk.is(&item) => {
                    touch = Touch::of(&item);
                    if get_n(&item, attr::FAN) == Some(1) {
                        chunk = Some(item);
                    }
                }
                Some(item) if get_s(&item, attr::TYPE) == Some(Kind::Audit.as_str()) => audit = Some(item),
                _ => {}
            }
            Record { sequence, chunk, audit, touch }
        })
        .collect()
}

/// A stream image (DynamoDB's JSON: `{"name":{"S":"…"}}`) as an item. Chunks hold strings,
/// numbers and binary; other types are carried for completeness.
pub fn image_to_item(image: &Value) -> Option<Item> {
    let map = image.as_object()?;
    let mut item = HashMap::new();
    for (k, v) in map {
        if let Some(a) = attribute(v) {
            item.insert(k.clone(), a);
        }
    }
    Some(item)
}

fn attribute(v: &Value) -> Option<AttributeValue> {
    let (t, x) = v.as_object()?.iter().next()?;
    Some(match t.as_str() {
        "S" => AttributeValue::S(x.as_str()?.to_owned()),
        "N" => AttributeValue::N(x.as_str()?.to_owned()),
        "B" => AttributeValue::B(Blob::new(base64::engine::general_purpose::STANDARD.decode(x.as_str()?).ok()?)),
        "BOOL" => AttributeValue::Bool(x.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(x.as_array()?.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()),
        "NS" => AttributeValue::Ns(x.as_array()?.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()),
        "L" => AttributeValue::L(x.as_array()?.iter().filter_map(attribute).collect()),
        "M" => AttributeValue::M(image_to_item(x)?),
        _ => return None,
    })
}

/// An item as a stream image (the inverse of [`image_to_item`]), for the local feeder.
pub fn item_to_image(item: &Item) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in item {
        if let Some(j) = attribute_json(v) {
            out.insert(k.clone(), j);
        }
    }
    Value::Object(out)
}

fn attribute_json(v: &AttributeValue) -> Option<Value> {
    Some(match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::L(v) => json!({ "L": v.iter().filter_map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_to_image(m) }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_events_parse_to_chunks() {
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("1#us-east-1#stream#S#events".into()));
        item.insert("type".into(), AttributeValue::S("chunk".into()));
        item.insert("fan".into(), AttributeValue::N("1".into()));
        item.insert("data".into(), AttributeValue::B(Blob::new(vec![0u8, 1, 255])));
        item.insert("tags".into(), AttributeValue::M(Item::from([("a".into(), AttributeValue::Bool(true))])));
        let image = item_to_image(&item);
        assert_eq!(image_to_item(&image), Some(item.clone()));
        let record = |name: &str, image: Value| json!({ "eventName": name, "dynamodb": { "SequenceNumber": "7", "NewImage": image } });
        let mut quiet = item.clone();
        quiet.remove("fan");
        let mut part = item.clone();
        part.insert("type".into(), AttributeValue::S("part".into()));
        let event = json!({ "Records": [
            record("INSERT", image.clone()),
            record("MODIFY", image.clone()),
            record("INSERT", item_to_image(&quiet)),
            record("INSERT", item_to_image(&part)),
            json!({ "eventName": "REMOVE", "dynamodb": { "SequenceNumber": "9" } }),
        ]});
        let records = parse_event(&event);
        let kept: Vec<bool> = records.iter().map(|r| r.chunk.is_some()).collect();
        assert_eq!(kept, [true, false, false, false, false]);
        assert_eq!(records[4].sequence, "9");
        assert!(parse_event(&json!({})).is_empty());
    }

    #[test]
    fn backoff_grows_to_its_cap() {
        let b = Backoff { attempts: 10, first: Duration::from_millis(100), max: Duration::from_secs(2) };
        assert!(b.delay(0) <= Duration::from_millis(100) && b.delay(0) >= Duration::from_millis(50));
        assert!(b.delay(3) >= Duration::from_millis(400));
        assert!(b.delay(30) <= Duration::from_secs(2));
    }
}
