//! Audit records: written by the request pipeline for every call, read by LookupEvents.
//!
//! A record lives in a day-and-shard partition, sorted by time. Each lookup attribute value it
//! carries gets a small pointer item in a partition of its own (same day and shard), so every
//! LookupEvents attribute is a key query, never a scan; an event id gets one pointer that a
//! GetItem finds. A per-day marker lets a lookup skip days without records. All items expire with
//! the record (90 days).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use logbook_audit::AuditRecord;
use logbook_model::cloudtrail::LookupKey;
use logbook_protocol::pipeline::AuditSink;
use logbook_protocol::{ApiError, Call, Identity};

use crate::keys::{self, EXPIRES_AT, PK, SK};
use crate::{Item, Store, from_item, internal, n, now_millis, s, to_item};

const BATCH_ATTEMPTS: u32 = 8;

/// The pipeline's audit sink, backed by the table.
pub struct AuditLog {
    store: Store,
    /// Day markers this instance already wrote: each is written once per instance and day.
    days_written: Mutex<HashSet<String>>,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        AuditLog { store, days_written: Mutex::new(HashSet::new()) }
    }

    /// Every item for one record: the record, its event-id pointer, one pointer per lookup
    /// attribute value, and the day marker when this instance has not written it yet.
    fn items(&self, id: &Identity, r: &AuditRecord) -> Result<Vec<Item>, ApiError> {
        let day = logbook_audit::day(r.event_time);
        let shard = keys::audit_shard(&r.event_id);
        let sort = keys::audit_sort(r.event_time, &r.event_id);
        let expires = n(r.event_time / 1000 + logbook_audit::RETENTION_DAYS * 86_400);
        let record_pk = keys::audit_records(id, &day, shard);

        let mut record = to_item(r)?;
        record.insert(PK.into(), s(&record_pk));
        record.insert(SK.into(), s(&sort));
        record.insert(EXPIRES_AT.into(), expires.clone());
        record.insert("type".into(), s("audit"));
        let mut items = vec![record];

        let pointer = |key: keys::Key| {
            let mut item = key.item();
            item.insert("rpk".into(), s(&record_pk));
            item.insert("rsk".into(), s(&sort));
            item.insert(EXPIRES_AT.into(), expires.clone());
            item
        };
        items.push(pointer(keys::audit_event(id, &r.event_id)));
        for (attribute, value) in index_values(r) {
            let pk = keys::audit_index(id, attribute.as_str(), &day, shard, &value);
            items.push(pointer(keys::Key { pk, sk: sort.clone() }));
        }
        let marker = format!("{}|{}|{day}", id.account_id, id.region);
        if !self.days_written.lock().expect("not poisoned").contains(&marker) {
            let mut item = keys::audit_day(id, &day).item();
            item.insert(EXPIRES_AT.into(), expires);
            items.push(item);
        }
        Ok(items)
    }

    /// Stores one record with its index items.
    pub async fn write(&self, id: &Identity, r: &AuditRecord) -> Result<(), ApiError> {
        let items = self.items(id, r)?;
        for chunk in items.chunks(25) {
            self.store.batch_put(chunk.to_vec()).await?;
        }
        let marker = format!("{}|{}|{}", id.account_id, id.region, logbook_audit::day(r.event_time));
        self.days_written.lock().expect("not poisoned").insert(marker);
        Ok(())
    }
}

/// The (attribute, value) pairs a record is found by. Resource names are indexed by name and ARN.
fn index_values(r: &AuditRecord) -> Vec<(LookupKey, String)> {
    let mut out = vec![
        (LookupKey::EventName, r.event_name.clone()),
        (LookupKey::EventSource, r.event_source.clone()),
        (LookupKey::ReadOnly, r.read_only.to_string()),
    ];
    if let Some(u) = &r.username {
        out.push((LookupKey::Username, u.clone()));
    }
    if let Some(k) = &r.access_key_id {
        out.push((LookupKey::AccessKeyId, k.clone()));
    }
    for res in &r.resources {
        out.push((LookupKey::ResourceType, res.resource_type.clone()));
        out.push((LookupKey::ResourceName, res.name.clone()));
        out.push((LookupKey::ResourceName, res.arn.clone()));
    }
    let mut seen = HashSet::new();
    out.retain(|(k, v)| seen.insert((k.as_str(), v.clone())));
    out
}

impl AuditSink for AuditLog {
    async fn record(&self, call: &Call, outcome: &Result<serde_json::Value, ApiError>) -> Result<(), ApiError> {
        let record = logbook_audit::build(call, outcome, now_millis());
        self.write(&call.identity, &record).await
    }
}

/// Where a page of LookupEvents starts: strictly older than this record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditCursor {
    pub time: i64,
    pub event_id: String,
}

impl Store {
    /// Puts items with BatchWriteItem, retrying what DynamoDB leaves unprocessed.
    pub(crate) async fn batch_put(&self, items: Vec<Item>) -> Result<(), ApiError> {
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(internal)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, ApiError>>()?;
        for attempt in 0..BATCH_ATTEMPTS {
            let out =
                self.client().batch_write_item().request_items(self.table(), pending).send().await.map_err(internal)?;
            pending = out.unprocessed_items.and_then(|mut m| m.remove(self.table())).unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
        }
        Err(ApiError::internal("BatchWriteItem left items unprocessed after retries"))
    }

    /// Records between `start` and `end` (ms, inclusive), newest first, older than `before`,
    /// optionally only those with one attribute value; at most `limit`, and whether more follow.
    pub async fn lookup_events(
        &self,
        id: &Identity,
        attribute: Option<(LookupKey, &str)>,
        start: i64,
        end: i64,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<(Vec<AuditRecord>, bool), ApiError> {
        if let Some((LookupKey::EventId, event_id)) = attribute {
            return self.lookup_event_id(id, event_id, start, end, before).await;
        }
        let end = match before {
            Some(c) => end.min(c.time),
            None => end,
        };
        let days = self.audit_days(id, start, end).await?;
        let exclusive = before.map(|c| keys::audit_sort(c.time, &c.event_id));
        let (lo, hi) = keys::audit_sort_range(start, end);
        // (record pk, sort key), newest first.
        let mut found: Vec<(String, String)> = Vec::new();
        for day in days {
            let queries = (0..keys::AUDIT_SHARDS).map(|shard| {
                let pk = match attribute {
                    Some((k, v)) => keys::audit_index(id, k.as_str(), &day, shard, v),
                    None => keys::audit_records(id, &day, shard),
                };
                let record_pk = keys::audit_records(id, &day, shard);
                self.client()
                    .query()
                    .table_name(self.table())
                    .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":pk", s(pk))
                    .expression_attribute_values(":lo", s(&lo))
                    .expression_attribute_values(":hi", s(exclusive.clone().unwrap_or_else(|| hi.clone())))
                    .projection_expression("sk")
                    .scan_index_forward(false)
                    .limit(limit as i32 + 2)
                    .send()
                    .map(move |r| r.map(|out| (record_pk, out)).map_err(internal))
            });
            let mut day_found: Vec<(String, String)> = Vec::new();
            for result in futures::future::join_all(queries).await {
                let (record_pk, out) = result?;
                for item in out.items.unwrap_or_default() {
                    if let Some(AttributeValue::S(sk)) = item.get(SK)
                        && Some(sk) != exclusive.as_ref()
                    {
                        day_found.push((record_pk.clone(), sk.clone()));
                    }
                }
            }
            day_found.sort_by(|a, b| b.1.cmp(&a.1));
            found.extend(day_found);
            if found.len() > limit {
                break;
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        let records = self.get_records(&found).await?;
        Ok((records, more))
    }

    async fn lookup_event_id(
        &self,
        id: &Identity,
        event_id: &str,
        start: i64,
        end: i64,
        before: Option<&AuditCursor>,
    ) -> Result<(Vec<AuditRecord>, bool), ApiError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(keys::audit_event(id, event_id).item()))
            .send()
            .await
            .map_err(internal)?;
        let Some(pointer) = out.item else { return Ok((Vec::new(), false)) };
        let (Some(AttributeValue::S(rpk)), Some(AttributeValue::S(rsk))) = (pointer.get("rpk"), pointer.get("rsk"))
        else {
            return Ok((Vec::new(), false));
        };
        let records = self.get_records(&[(rpk.clone(), rsk.clone())]).await?;
        let records =
            records.into_iter().filter(|r| r.event_time >= start && r.event_time <= end && before.is_none()).collect();
        Ok((records, false))
    }

    /// Days in [start, end] that have records, newest first.
    async fn audit_days(&self, id: &Identity, start: i64, end: i64) -> Result<Vec<String>, ApiError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(keys::audit_days(id)))
            .expression_attribute_values(":a", s(logbook_audit::day(start)))
            .expression_attribute_values(":b", s(logbook_audit::day(end)))
            .scan_index_forward(false)
            .send()
            .await
            .map_err(internal)?;
        Ok(out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|mut i| match i.remove(SK) {
                Some(AttributeValue::S(d)) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// Full records for (pk, sk) keys, in the given order.
    async fn get_records(&self, keys_in_order: &[(String, String)]) -> Result<Vec<AuditRecord>, ApiError> {
        if keys_in_order.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted: Vec<HashMap<String, AttributeValue>> =
            keys_in_order.iter().map(|(p, k)| HashMap::from([(PK.into(), s(p)), (SK.into(), s(k))])).collect();
        let mut got: HashMap<(String, String), AuditRecord> = HashMap::new();
        for attempt in 0..BATCH_ATTEMPTS {
            let request = KeysAndAttributes::builder().set_keys(Some(wanted)).build().map_err(internal)?;
            let out =
                self.client().batch_get_item().request_items(self.table(), request).send().await.map_err(internal)?;
            for item in out.responses.and_then(|mut r| r.remove(self.table())).unwrap_or_default() {
                let key = match (item.get(PK), item.get(SK)) {
                    (Some(AttributeValue::S(p)), Some(AttributeValue::S(k))) => (p.clone(), k.clone()),
                    _ => continue,
                };
                got.insert(key, from_item(item)?);
            }
            wanted = out.unprocessed_keys.and_then(|mut m| m.remove(self.table())).map(|k| k.keys).unwrap_or_default();
            if wanted.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
        }
        // A pointer without its record (it expired, or was never fully written) is skipped.
        Ok(keys_in_order.iter().filter_map(|k| got.remove(k)).collect())
    }
}

use futures::FutureExt as _;
