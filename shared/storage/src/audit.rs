//! Audit records: written by the request pipeline for every call, read by LookupEvents.
//!
//! A record lives in a day-and-shard partition, sorted by time. Each lookup attribute value it
//! carries gets a small pointer item in a partition of its own (same day and shard), so every
//! LookupEvents attribute is a key query, never a scan; an event id gets one pointer that a
//! GetItem finds. A per-day marker lets a lookup skip days without records. All items expire with
//! the record (90 days).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use logbook_audit::AuditRecord;
use logbook_model::cloudtrail::LookupKey;
use logbook_protocol::pipeline::AuditSink;
use logbook_protocol::{ApiError, Call, Identity};

use crate::keys::{self, EXPIRES_AT, Key, Kind, PK, SK, attr};
use crate::table::{Query, Range, from_item, get_s, n, s, to_item};
use crate::{Item, Store, lock, now_millis};

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
        record.extend([Kind::Audit.attribute()]);
        let mut items = vec![record];

        let pointer = |key: keys::Key| {
            let mut item = key.item();
            item.insert(attr::RECORD_PK.into(), s(&record_pk));
            item.insert(attr::RECORD_SK.into(), s(&sort));
            item.insert(EXPIRES_AT.into(), expires.clone());
            item
        };
        items.push(pointer(keys::audit_event(id, &r.event_id)));
        for (attribute, value) in index_values(r) {
            let pk = keys::audit_index(id, attribute.as_str(), &day, shard, &value);
            items.push(pointer(keys::Key { pk, sk: sort.clone() }));
        }
        let marker = format!("{}|{}|{day}", id.account_id, id.region);
        if !lock(&self.days_written).contains(&marker) {
            let mut item = keys::audit_day(id, &day).item();
            item.insert(EXPIRES_AT.into(), expires);
            items.push(item);
        }
        Ok(items)
    }

    /// Stores one record with its index items.
    pub async fn write(&self, id: &Identity, r: &AuditRecord) -> Result<(), ApiError> {
        self.store.db().batch_put(self.items(id, r)?).await?;
        let marker = format!("{}|{}|{}", id.account_id, id.region, logbook_audit::day(r.event_time));
        lock(&self.days_written).insert(marker);
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

impl logbook_model::token::Cursor for AuditCursor {
    fn in_range(&self) -> bool {
        (0..=keys::TIME_MAX).contains(&self.time) && crate::is_id(&self.event_id, 64)
    }
}

impl Store {
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
                let upper = exclusive.clone().unwrap_or_else(|| hi.clone());
                let q = Query::new(pk)
                    .range(Range::Between(lo.clone(), upper))
                    .project("sk")
                    .backward(true)
                    .limit(limit + 2);
                async move { self.db().page(&q).await.map(|page| (record_pk, page)) }
            });
            let mut day_found: Vec<(String, String)> = Vec::new();
            for result in futures::future::join_all(queries).await {
                let (record_pk, page) = result?;
                for item in page.items {
                    if let Some(sk) = get_s(&item, SK)
                        && Some(sk) != exclusive.as_deref()
                    {
                        day_found.push((record_pk.clone(), sk.to_owned()));
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
        let Some(pointer) = self.db().get_item(&keys::audit_event(id, event_id)).await? else {
            return Ok((Vec::new(), false));
        };
        let (Some(rpk), Some(rsk)) = (get_s(&pointer, attr::RECORD_PK), get_s(&pointer, attr::RECORD_SK)) else {
            return Ok((Vec::new(), false));
        };
        let records = self.get_records(&[(rpk.to_owned(), rsk.to_owned())]).await?;
        let records =
            records.into_iter().filter(|r| r.event_time >= start && r.event_time <= end && before.is_none()).collect();
        Ok((records, false))
    }

    /// Days in [start, end] that have records, newest first.
    async fn audit_days(&self, id: &Identity, start: i64, end: i64) -> Result<Vec<String>, ApiError> {
        let q = Query::new(keys::audit_days(id))
            .range(Range::Between(logbook_audit::day(start), logbook_audit::day(end)))
            .backward(true);
        let items = self.db().all(q, usize::MAX).await?;
        Ok(items.iter().filter_map(|i| get_s(i, SK)).map(str::to_owned).collect())
    }

    /// Full records for (pk, sk) keys, in the given order.
    async fn get_records(&self, keys_in_order: &[(String, String)]) -> Result<Vec<AuditRecord>, ApiError> {
        let wanted: Vec<Key> = keys_in_order.iter().map(|(pk, sk)| Key { pk: pk.clone(), sk: sk.clone() }).collect();
        let mut got: HashMap<(String, String), AuditRecord> = HashMap::new();
        for item in self.db().batch_get(&wanted, false).await? {
            let Some(key) = Key::of(&item) else { continue };
            got.insert((key.pk, key.sk), from_item(item)?);
        }
        // A pointer without its record (it expired, or was never fully written) is skipped.
        Ok(keys_in_order.iter().filter_map(|k| got.remove(k)).collect())
    }
}

/// A record read for delivery: its region and its sort key (time, event id) with it.
#[derive(Debug, Clone)]
pub struct Windowed {
    pub region: String,
    pub sort: String,
    pub record: AuditRecord,
}

impl Store {
    /// The account's records of `regions` whose sort key lies in (`after`, `through`] (see
    /// [`keys::audit_sort`]), in sort-key order: at most `cap`, and whether more are left (then
    /// the last one returned is where the next read starts). Trails read their log files here.
    pub async fn audit_window(
        &self,
        account: &str,
        regions: &[String],
        after: &str,
        through: &str,
        cap: usize,
    ) -> Result<(Vec<Windowed>, bool), ApiError> {
        let time = |sk: &str| sk.get(..13).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
        let (from, to) = (time(after), time(through));
        let mut found: Vec<Windowed> = Vec::new();
        for region in regions {
            let id = Identity::of(account, region);
            for day in self.audit_days(&id, from, to).await? {
                let queries = (0..keys::AUDIT_SHARDS).map(|shard| {
                    // The window's records are settled (written well before it closed).
                    let q = Query::new(keys::audit_records(&id, &day, shard))
                        .range(Range::Between(after.to_owned(), through.to_owned()))
                        .eventually_consistent();
                    self.db().all(q, cap + 1)
                });
                for items in futures::future::join_all(queries).await {
                    for item in items? {
                        let Some(sort) = get_s(&item, SK).map(str::to_owned) else { continue };
                        if sort.as_str() == after {
                            continue;
                        }
                        found.push(Windowed { region: region.clone(), sort, record: from_item(item)? });
                    }
                }
            }
        }
        found.sort_by(|a, b| a.sort.cmp(&b.sort));
        let more = found.len() > cap;
        found.truncate(cap);
        Ok((found, more))
    }
}
