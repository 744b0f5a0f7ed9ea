//! Trail delivery to a log group: each new audit record of a logging trail's scope becomes a log
//! event (its JSON the message, its event time the timestamp) in the trail's log group, stream
//! `{account}_CloudTrail_{region}`, as CloudTrail delivers to CloudWatch Logs. The events are
//! stored through PutLogEvents' own write path, so the group's metric filters and subscriptions
//! see them as any others; nothing here goes through the request pipeline, so delivering records
//! records nothing (no loop of records about records).
//!
//! A retry of a batch writes the same chunks (their ids derive from the records delivered) and
//! so stores nothing twice.

use std::collections::{BTreeMap, HashMap};

use logbook_audit::AuditRecord;
use logbook_model::cloudtrail::{Trail, cloudtrail_stream_name};
use logbook_model::events::Event;
use logbook_model::logs::LogStream;
use logbook_protocol::{ApiError, ErrorCode, Identity};
use logbook_storage::table::get_s;
use logbook_storage::trails::{millis, text};
use logbook_storage::{Item, Store, now_millis};
use sha2::Digest;

/// PutLogEvents' limits: a batch of at most 10,000 events and 1,048,576 bytes (26 per event
/// besides its message).
const BATCH_EVENTS: usize = 10_000;
const BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;

/// An audit record of the table's stream, with where it came from.
pub struct NewRecord {
    pub index: usize,
    pub account: String,
    pub region: String,
    pub record: AuditRecord,
}

/// The audit record in a stream image, when it is one.
pub fn audit_record(index: usize, item: &Item) -> Option<NewRecord> {
    let pk = get_s(item, "pk")?;
    let mut parts = pk.splitn(3, '#');
    let (account, region) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let record: AuditRecord = logbook_storage::audit::decode(item.clone()).ok()?;
    Some(NewRecord { index, account, region, record })
}

/// Where one set of records goes: the trail (its account and home region, its name), the log
/// group (region, name) and the stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Destination {
    account: String,
    home_region: String,
    trail: String,
    group_region: String,
    group: String,
    stream: String,
}

/// Delivers the records to the log groups of the trails that take them. On a failure that may
/// pass (a DynamoDB fault), the batch index of the first record not delivered.
pub async fn deliver(store: &Store, records: &[NewRecord], data_events: bool) -> Option<usize> {
    if records.is_empty() {
        return None;
    }
    let mut trails: HashMap<&str, Vec<Trail>> = HashMap::new();
    for r in records {
        if trails.contains_key(r.account.as_str()) {
            continue;
        }
        match store.list_trails(&Identity::of(&r.account, &r.region)).await {
            Ok(list) => {
                trails.insert(&r.account, list);
            }
            Err(e) => {
                tracing::warn!(detail = ?e.detail(), "trails could not be read; retried");
                return Some(r.index);
            }
        }
    }
    let mut sets: BTreeMap<Destination, Vec<&NewRecord>> = BTreeMap::new();
    for r in records {
        if !data_events && logbook_audit::is_data_event_name(&r.record.event_name) {
            continue;
        }
        for t in &trails[r.account.as_str()] {
            let Some((group_region, _, group)) = t.log_group() else { continue };
            let arns: Vec<&str> = r.record.resources.iter().map(|x| x.arn.as_str()).collect();
            if !t.covers(&r.region) || !t.takes(r.record.event_time, &r.record.event_name, &arns, &r.account) {
                continue;
            }
            let d = Destination {
                account: r.account.clone(),
                home_region: t.home_region.clone(),
                trail: t.name.clone(),
                group_region,
                group,
                stream: cloudtrail_stream_name(&r.account, &r.region),
            };
            sets.entry(d).or_default().push(r);
        }
    }
    let mut failed: Option<usize> = None;
    for (d, mut set) in sets {
        set.sort_by_key(|r| (r.record.event_time, r.index));
        let first = set.iter().map(|r| r.index).min().unwrap_or_default();
        let home = Identity::of(&d.account, &d.home_region);
        let key = format!("{}|{}|{}", d.account, d.home_region, d.trail);
        let change = match put(store, &d, &set).await {
            Ok(()) if !status_due(&key) => continue,
            Ok(()) => vec![
                ("latestCloudWatchLogsDeliveryTime", millis(now_millis())),
                ("latestCloudWatchLogsDeliveryError", None),
            ],
            Err(e) if e.status() < 500 => {
                forget_status(&key);
                // The group (or the account's right to it) is gone: CloudTrail drops the records
                // and reports why.
                tracing::warn!(trail = %d.trail, group = %d.group, code = %e.code, "trail records not delivered to the log group");
                vec![("latestCloudWatchLogsDeliveryError", text(&format!("{}: {}", e.code, e.message)))]
            }
            Err(e) => {
                tracing::warn!(trail = %d.trail, detail = ?e.detail(), "trail delivery to the log group will be retried");
                failed = Some(failed.map_or(first, |f| f.min(first)));
                continue;
            }
        };
        if let Err(e) = store.change_trail_status(&home, &d.home_region, &d.trail, change, None).await {
            tracing::warn!(detail = ?e.detail(), "trail status not updated");
        }
    }
    failed
}

/// A success is written to a trail's status at most this often per warm instance (an error at
/// once): without it, every batch would add a write.
const STATUS_EVERY_MS: i64 = 10_000;

fn status_times() -> std::sync::MutexGuard<'static, HashMap<String, i64>> {
    static TIMES: std::sync::OnceLock<std::sync::Mutex<HashMap<String, i64>>> = std::sync::OnceLock::new();
    TIMES.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether this success should be written (and notes that it is).
fn status_due(key: &str) -> bool {
    let now = now_millis();
    let mut times = status_times();
    if times.get(key).is_some_and(|t| now - t < STATUS_EVERY_MS) {
        return false;
    }
    if times.len() > 10_000 {
        times.clear();
    }
    times.insert(key.to_owned(), now);
    true
}

/// After an error, the next success is written at once (it clears the error).
fn forget_status(key: &str) {
    status_times().remove(key);
}

/// Appends one destination's records (time-ordered) to its stream, creating the stream if needed.
async fn put(store: &Store, d: &Destination, set: &[&NewRecord]) -> Result<(), ApiError> {
    let id = Identity::of(&d.account, &d.group_region);
    let group = store.require_group(&id, &d.group).await?;
    let now = now_millis();
    let stream = match store.get_stream(&id, &group, &d.stream).await? {
        Some(s) => s,
        None => {
            let fresh = LogStream::new(d.stream.clone(), now);
            match store.create_stream(&id, &group, &fresh).await {
                Ok(()) => fresh,
                Err(e) if e.code == ErrorCode::ResourceAlreadyExistsException => store
                    .get_stream(&id, &group, &d.stream)
                    .await?
                    .ok_or_else(|| ApiError::internal("the trail's stream vanished"))?,
                Err(e) => return Err(e),
            }
        }
    };
    let mut batch: Vec<Event> = Vec::new();
    let mut bytes = 0;
    let mut ids: Vec<&str> = Vec::new();
    for r in set {
        let size = r.record.cloudtrail_event.len() + EVENT_OVERHEAD;
        if !batch.is_empty() && (batch.len() == BATCH_EVENTS || bytes + size > BATCH_BYTES) {
            store_batch(store, &id, &group, &stream, &batch, &ids, now).await?;
            batch.clear();
            ids.clear();
            bytes = 0;
        }
        batch.push(Event { timestamp: r.record.event_time, message: r.record.cloudtrail_event.clone() });
        ids.push(&r.record.event_id);
        bytes += size;
    }
    if !batch.is_empty() {
        store_batch(store, &id, &group, &stream, &batch, &ids, now).await?;
    }
    Ok(())
}

async fn store_batch(
    store: &Store,
    id: &Identity,
    group: &logbook_model::logs::LogGroup,
    stream: &LogStream,
    batch: &[Event],
    event_ids: &[&str],
    now: i64,
) -> Result<(), ApiError> {
    // The same records make the same invocation id, so a retried batch rewrites the same chunks.
    let mut h = sha2::Sha256::new();
    for e in event_ids {
        h.update(e.as_bytes());
        h.update([0]);
    }
    let invocation: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("{now:056}");
    store.put_events(id, group, stream, batch, now, &token, Some(&format!("trail-{invocation}"))).await
}
