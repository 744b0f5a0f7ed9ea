//! Audit records: written by the request pipeline for every recorded call, read by LookupEvents
//! and by trails.
//!
//! A record is **one item** in a day-and-shard partition, sorted by time, at most ~1 KB for a
//! typical call so that it costs one write unit: its content packed (the record's JSON, zstd
//! with a fixed dictionary of typical records), and two lookup keys on the item itself, the
//! EventName on `gsi1` and its first resource's name on `gsi2` (ALL projections: a lookup by
//! either reads whole records from the index). So a management call's record costs 3 write
//! units (1 without a resource: 2); each further resource of a record adds a small pointer item.
//! Its event id is a UUID v7 carrying its time, so LookupEvents by EventId computes the record's
//! key: no pointer. The other attributes (EventSource, ReadOnly, Username, AccessKeyId,
//! ResourceType) take few values in an account, so a lookup by them reads the record partitions
//! newest first and keeps what matches. A per-day marker lets a lookup skip days without records.
//! All items expire with the record (90 days).
//!
//! Records written before this layout (plain attributes, a pointer item per attribute value and
//! per event id) are read too: the same partitions and pointer keys are queried, until they
//! expire.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::Mutex;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use logbook_audit::AuditRecord;
use logbook_model::cloudtrail::LookupKey;
use logbook_protocol::pipeline::AuditSink;
use logbook_protocol::{ApiError, Call, Identity};

use crate::keys::{self, EXPIRES_AT, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, Key, Kind, SK, attr};
use crate::table::{Query, Range, from_item, get_s, n, s};
use crate::{Item, Store, lock, now_millis};

/// The packed record's attribute, and the format byte its value starts with.
const PACKED: &str = "rec";
const PACKED_V1: u8 = 1;
/// Typical records (the JSON [`pack`] compresses), as zstd's dictionary: a record shares most
/// of its bytes with them. Never changed: records packed with it are read with it (a new one
/// would be format 2).
const DICTIONARY_V1: &[u8] = include_bytes!("audit_dictionary.ndjson");

/// A record as its item's packed value.
fn pack(r: &AuditRecord) -> Result<Vec<u8>, ApiError> {
    let json = serde_json::to_vec(r).map_err(ApiError::internal)?;
    let mut z = zstd::bulk::Compressor::with_dictionary(3, DICTIONARY_V1).map_err(ApiError::internal)?;
    let mut out = vec![PACKED_V1];
    out.extend(z.compress(&json).map_err(ApiError::internal)?);
    Ok(out)
}

fn unpack(bytes: &[u8]) -> Result<AuditRecord, ApiError> {
    match bytes.split_first() {
        Some((&PACKED_V1, body)) => {
            let mut json = Vec::new();
            zstd::stream::read::Decoder::with_dictionary(body, DICTIONARY_V1)
                .and_then(|mut d| d.read_to_end(&mut json))
                .map_err(ApiError::internal)?;
            serde_json::from_slice(&json).map_err(ApiError::internal)
        }
        _ => Err(ApiError::internal("an audit record in an unknown format")),
    }
}

/// The record an item holds: packed, or in the earlier plain layout.
pub fn decode(item: Item) -> Result<AuditRecord, ApiError> {
    match item.get(PACKED) {
        Some(AttributeValue::B(b)) => unpack(b.as_ref()),
        _ => from_item(item),
    }
}

/// Whether an item is a record (not a pointer).
fn is_record(item: &Item) -> bool {
    item.contains_key(PACKED) || item.contains_key("cloudtrail_event")
}

/// The pipeline's audit sink, backed by the table.
pub struct AuditLog {
    store: Store,
    /// Day markers this instance already wrote: each is written once per instance and day.
    days_written: Mutex<HashSet<String>>,
}

/// The name a ResourceName lookup value is indexed under: a resource's name, or the name an ARN
/// of a resource we record ends with.
fn resource_key(value: &str) -> &str {
    if !value.starts_with("arn:") {
        return value;
    }
    for marker in [":log-stream:", ":filter:", ":destination:", ":trail/", ":log-group:"] {
        if let Some((_, name)) = value.rsplit_once(marker) {
            return name;
        }
    }
    value
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        AuditLog { store, days_written: Mutex::new(HashSet::new()) }
    }

    /// Every item for one record: the record (with its two index keys), a pointer for each
    /// further resource name, an event-id pointer only for an id that does not carry the
    /// record's time (records not made by `logbook_audit::build`), and the day marker when this
    /// instance has not written it yet.
    fn items(&self, id: &Identity, r: &AuditRecord) -> Result<Vec<Item>, ApiError> {
        let day = logbook_audit::day(r.event_time);
        let shard = keys::audit_shard(&r.event_id);
        let sort = keys::audit_sort(r.event_time, &r.event_id);
        let expires = n(r.event_time / 1000 + logbook_audit::RETENTION_DAYS * 86_400);
        let record_pk = keys::audit_records(id, &day, shard);

        let mut record = Key { pk: record_pk.clone(), sk: sort.clone() }.item();
        record.insert(PACKED.into(), AttributeValue::B(Blob::new(pack(r)?)));
        record.insert(EXPIRES_AT.into(), expires.clone());
        record.extend([Kind::Audit.attribute()]);
        let index = |k: LookupKey, v: &str| keys::audit_index(id, k.as_str(), &day, shard, v);
        record.insert(GSI1_PK.into(), s(index(LookupKey::EventName, &r.event_name)));
        record.insert(GSI1_SK.into(), s(&sort));
        let mut names: Vec<&str> = r.resources.iter().map(|x| x.name.as_str()).collect();
        let mut seen = HashSet::new();
        names.retain(|n| seen.insert(*n));
        if let Some(first) = names.first() {
            record.insert(GSI2_PK.into(), s(index(LookupKey::ResourceName, first)));
            record.insert(GSI2_SK.into(), s(&sort));
        }
        let mut items = vec![record];

        let pointer = |key: keys::Key| {
            let mut item = key.item();
            item.insert(attr::RECORD_PK.into(), s(&record_pk));
            item.insert(attr::RECORD_SK.into(), s(&sort));
            item.insert(EXPIRES_AT.into(), expires.clone());
            item
        };
        for name in names.iter().skip(1) {
            items.push(pointer(Key { pk: index(LookupKey::ResourceName, name), sk: sort.clone() }));
        }
        if logbook_audit::event_id_time(&r.event_id) != Some(r.event_time) {
            items.push(pointer(keys::audit_event(id, &r.event_id)));
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

/// Whether a record matches a lookup attribute (the index narrowed it; this decides).
fn matches(r: &AuditRecord, key: LookupKey, value: &str) -> bool {
    match key {
        LookupKey::EventId => r.event_id == value,
        LookupKey::EventName => r.event_name == value,
        LookupKey::ReadOnly => r.read_only.to_string() == value,
        LookupKey::Username => r.username.as_deref() == Some(value),
        LookupKey::ResourceType => r.resources.iter().any(|x| x.resource_type == value),
        LookupKey::ResourceName => r.resources.iter().any(|x| x.name == value || x.arn == value),
        LookupKey::EventSource => r.event_source == value,
        LookupKey::AccessKeyId => r.access_key_id.as_deref() == Some(value),
    }
}

impl AuditSink for AuditLog {
    async fn record(&self, call: &Call, outcome: &Result<serde_json::Value, ApiError>) -> Result<(), ApiError> {
        // Data events only when asked for (management events always).
        if !logbook_audit::is_recorded(call.action) {
            return Ok(());
        }
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

/// Records read from one day and shard for a lookup, newest first: whole records, and pointers
/// (record keys) still to be fetched.
#[derive(Default)]
struct Found {
    records: Vec<(String, AuditRecord)>,
    pointers: Vec<(String, String)>,
}

/// A day with records, and whether some are in the earlier layout.
struct Day {
    day: String,
    legacy: bool,
}

/// Items per page when a lookup filters a record partition.
const FILTER_PAGE: usize = 200;

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
        let upper = exclusive.clone().unwrap_or_else(|| hi.clone());
        // (sort key, record), newest first.
        let mut found: Vec<(String, AuditRecord)> = Vec::new();
        for day in days {
            let shards = (0..keys::AUDIT_SHARDS).map(|shard| {
                let range = Range::Between(lo.clone(), upper.clone());
                self.lookup_shard(id, &day, shard, attribute, range, limit + 2)
            });
            let mut day_found: Vec<(String, AuditRecord)> = Vec::new();
            let mut pointers: Vec<(String, String)> = Vec::new();
            for f in futures::future::join_all(shards).await {
                let f = f?;
                day_found.extend(f.records);
                pointers.extend(f.pointers);
            }
            for (sk, r) in self.get_records(&pointers).await? {
                day_found.push((sk, r));
            }
            day_found
                .retain(|(sk, r)| Some(sk) != exclusive.as_ref() && attribute.is_none_or(|(k, v)| matches(r, k, v)));
            day_found.sort_by(|a, b| b.0.cmp(&a.0));
            day_found.dedup_by(|a, b| a.0 == b.0);
            found.extend(day_found);
            if found.len() > limit {
                break;
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found.into_iter().map(|(_, r)| r).collect(), more))
    }

    /// One day and shard of a lookup: at least `want` matching records (or all there are) in
    /// `range`, newest first.
    async fn lookup_shard(
        &self,
        id: &Identity,
        day: &Day,
        shard: u32,
        attribute: Option<(LookupKey, &str)>,
        range: Range,
        want: usize,
    ) -> Result<Found, ApiError> {
        let Day { day, legacy: has_legacy } = day;
        let mut found = Found::default();
        let records_pk = keys::audit_records(id, day, shard);
        // The indexed attributes: the index on the record itself, and pointer items (further
        // resources; earlier records).
        let indexed = match attribute {
            Some((LookupKey::EventName, v)) => Some((GSI1, keys::audit_index(id, "EventName", day, shard, v), None)),
            Some((LookupKey::ResourceName, v)) => {
                let name = resource_key(v);
                let legacy = (name != v).then(|| keys::audit_index(id, "ResourceName", day, shard, v));
                Some((GSI2, keys::audit_index(id, "ResourceName", day, shard, name), legacy))
            }
            _ => None,
        };
        if let Some((index, key, legacy)) = indexed {
            let on_index = Query::new(&key).index(index).range(range.clone()).backward(true).limit(want);
            // Pointers: further resources of current records (by name), and the earlier
            // layout's (by name and by ARN) on days that have them.
            let mut pointer_keys = Vec::new();
            if *has_legacy || matches!(attribute, Some((LookupKey::ResourceName, _))) {
                pointer_keys.push(key);
            }
            if *has_legacy {
                pointer_keys.extend(legacy);
            }
            let pointer_queries = pointer_keys
                .into_iter()
                .map(|pk| Query::new(pk).range(range.clone()).backward(true).limit(want))
                .collect::<Vec<_>>();
            let (records, pointers) = futures::future::join(
                self.db().page(&on_index),
                futures::future::join_all(pointer_queries.iter().map(|q| self.db().page(q))),
            )
            .await;
            for item in records?.items {
                if let Some(sk) = get_s(&item, SK).map(str::to_owned) {
                    found.records.push((sk, decode(item)?));
                }
            }
            for page in pointers {
                for item in page?.items {
                    if let (Some(rpk), Some(rsk)) = (get_s(&item, attr::RECORD_PK), get_s(&item, attr::RECORD_SK)) {
                        found.pointers.push((rpk.to_owned(), rsk.to_owned()));
                    }
                }
            }
            return Ok(found);
        }
        // Everything, or an attribute few values share: the record partition itself, newest
        // first, keeping what matches.
        let mut start = None;
        loop {
            let q = Query::new(&records_pk)
                .range(range.clone())
                .backward(true)
                .limit(if attribute.is_none() { want } else { FILTER_PAGE })
                .after(start);
            let page = self.db().page(&q).await?;
            for item in page.items {
                let Some(sk) = get_s(&item, SK).map(str::to_owned) else { continue };
                if !is_record(&item) {
                    continue;
                }
                let r = decode(item)?;
                if attribute.is_none_or(|(k, v)| matches(&r, k, v)) {
                    found.records.push((sk, r));
                }
            }
            if found.records.len() >= want || page.last.is_none() {
                return Ok(found);
            }
            start = page.last;
        }
    }

    async fn lookup_event_id(
        &self,
        id: &Identity,
        event_id: &str,
        start: i64,
        end: i64,
        before: Option<&AuditCursor>,
    ) -> Result<(Vec<AuditRecord>, bool), ApiError> {
        // An id that carries its time names its record's key; any other, its pointer.
        let key = match logbook_audit::event_id_time(event_id) {
            Some(time) => Key {
                pk: keys::audit_records(id, &logbook_audit::day(time), keys::audit_shard(event_id)),
                sk: keys::audit_sort(time, event_id),
            },
            None => {
                let Some(pointer) = self.db().get_item(&keys::audit_event(id, event_id)).await? else {
                    return Ok((Vec::new(), false));
                };
                let (Some(rpk), Some(rsk)) = (get_s(&pointer, attr::RECORD_PK), get_s(&pointer, attr::RECORD_SK))
                else {
                    return Ok((Vec::new(), false));
                };
                Key { pk: rpk.to_owned(), sk: rsk.to_owned() }
            }
        };
        let record = match self.db().get_item(&key).await? {
            Some(item) if is_record(&item) => decode(item)?,
            _ => return Ok((Vec::new(), false)),
        };
        let keep =
            record.event_id == event_id && record.event_time >= start && record.event_time <= end && before.is_none();
        Ok((if keep { vec![record] } else { Vec::new() }, false))
    }

    /// Days in [start, end] that have records, newest first: whether each has records of the
    /// earlier layout (their pointers are queried only then).
    async fn audit_days(&self, id: &Identity, start: i64, end: i64) -> Result<Vec<Day>, ApiError> {
        let range = || Range::Between(logbook_audit::day(start), logbook_audit::day(end));
        let (legacy, current) = futures::future::join(
            self.db().all(Query::new(keys::audit_days(id)).range(range()), usize::MAX),
            self.db().all(Query::new(keys::audit_record_days(id)).range(range()), usize::MAX),
        )
        .await;
        let mut days: Vec<Day> = Vec::new();
        for (items, legacy) in [(legacy?, true), (current?, false)] {
            for day in items.iter().filter_map(|i| get_s(i, SK)) {
                match days.iter_mut().find(|d| d.day == day) {
                    Some(d) => d.legacy |= legacy,
                    None => days.push(Day { day: day.to_owned(), legacy }),
                }
            }
        }
        days.sort_by(|a, b| b.day.cmp(&a.day));
        Ok(days)
    }

    /// Records for (pk, sk) keys, with their sort keys. A pointer without its record (it
    /// expired, or was never fully written) is skipped.
    async fn get_records(&self, wanted: &[(String, String)]) -> Result<Vec<(String, AuditRecord)>, ApiError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut unique: Vec<Key> = wanted.iter().map(|(pk, sk)| Key { pk: pk.clone(), sk: sk.clone() }).collect();
        unique.sort_by(|a, b| (&a.pk, &a.sk).cmp(&(&b.pk, &b.sk)));
        unique.dedup_by(|a, b| a.pk == b.pk && a.sk == b.sk);
        let mut out = Vec::new();
        for item in self.db().batch_get(&unique, false).await? {
            let Some(key) = Key::of(&item) else { continue };
            out.push((key.sk, decode(item)?));
        }
        Ok(out)
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
            for Day { day, .. } in self.audit_days(&id, from, to).await? {
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
                        found.push(Windowed { region: region.clone(), sort, record: decode(item)? });
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
