//! Trail log files: a logging trail's audit records, written to its S3 bucket as CloudTrail
//! writes them (gzip JSON `{"Records":[…]}`, one file per region and delivery, about every
//! `LOGBOOK_TRAIL_DELIVERY_SECONDS`), each announced on the trail's SNS topic when it has one.
//!
//! The records are read from where LookupEvents reads them (the audit partitions, in time order),
//! not through the fan-out: a file gathers minutes of records, which a stream-triggered function
//! would have to buffer somewhere; the audit partitions already are that buffer. Trail delivery
//! to a log group, which is per record, does go through the fan-out (`functions/fanout`).
//!
//! Exactly one file per record, whatever crashes: the trail's status item holds how far files
//! have gone (`deliveredThrough`, an audit sort key). A delivery first claims its window
//! (`pendingThrough`, conditionally on the progress it read), then writes the files under keys
//! derived from the trail and the window, then moves the progress (conditionally on its claim).
//! A worker that dies in between leaves the claim; the next run writes the same records to the
//! same keys again (an overwrite, not a second copy) and finishes. Notifications are at least
//! once.

use std::io::Write as _;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectCannedAcl;
use flate2::Compression;
use flate2::write::GzEncoder;
use logbook_delivery::s3::{Refusal, refusal_of};
use logbook_delivery::sns::Sns;
use logbook_model::cloudtrail::{STOP_RECORD_MS, Trail, log_file_key};
use logbook_protocol::{ApiError, Identity};
use logbook_storage::audit::Windowed;
use logbook_storage::keys::{audit_sort_range, time13};
use logbook_storage::trails::{StatusChange, millis, status_member_is, text};
use logbook_storage::work::{Job, Outcome};
use logbook_storage::{Store, now_millis};
use sha2::Digest;

/// Seconds between a trail's log files (CloudTrail: about every 5 minutes).
pub const DELIVERY_SECONDS: i64 = 300;
/// How long after its time a record is surely stored (it is written before its call answers,
/// and calls end within 29 s): a file covers records up to this long ago.
pub const SETTLE_SECONDS: i64 = 30;
/// Records in one log file at most (CloudTrail's files hold hundreds to thousands).
pub const FILE_RECORDS: usize = 5_000;

pub struct TrailDeliverer {
    pub store: Store,
    pub s3: aws_sdk_s3::Client,
    pub sns: Sns,
    pub interval_ms: i64,
    pub settle_ms: i64,
    pub file_records: usize,
    /// The regions a multi-region trail reads (the stack's own when deployed).
    pub regions: Vec<String>,
    /// Data events (PutLogEvents, GetLogEvents, FilterLogEvents) go into files too.
    pub data_events: bool,
}

/// What one delivery came to.
enum Delivered {
    /// Nothing is due yet.
    NotDue,
    /// A window was delivered; `more` when records beyond it are already waiting.
    Window { more: bool },
    /// The window could not be written (the error is in the trail's status); tried next run.
    Failed,
    /// The trail is stopped and every record of its logging time is delivered.
    CaughtUp,
    /// Another worker moved the progress first.
    Lost,
}

fn env_i64(name: &str) -> Option<i64> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

impl TrailDeliverer {
    /// `LOGBOOK_TRAIL_DELIVERY_SECONDS`, `LOGBOOK_TRAIL_SETTLE_SECONDS`,
    /// `LOGBOOK_TRAIL_FILE_RECORDS`, `LOGBOOK_REGIONS`, `LOGBOOK_AUDIT_DATA_EVENTS`.
    pub fn from_env(store: Store, config: &aws_config::SdkConfig) -> TrailDeliverer {
        let regions = std::env::var("LOGBOOK_REGIONS")
            .ok()
            .map(|v| v.split(',').map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| logbook_auth::AWS_REGIONS.iter().map(|r| (*r).to_owned()).collect());
        TrailDeliverer {
            store,
            s3: logbook_delivery::s3::client(config),
            sns: Sns::new(config),
            interval_ms: env_i64("LOGBOOK_TRAIL_DELIVERY_SECONDS").unwrap_or(DELIVERY_SECONDS).max(0) * 1000,
            settle_ms: env_i64("LOGBOOK_TRAIL_SETTLE_SECONDS").unwrap_or(SETTLE_SECONDS).max(0) * 1000,
            file_records: env_i64("LOGBOOK_TRAIL_FILE_RECORDS").map_or(FILE_RECORDS, |n| n.max(1) as usize),
            regions,
            data_events: logbook_audit::data_events_enabled(),
        }
    }

    /// One turn of a trail's job: deliver what is due, until the deadline.
    pub async fn run(&self, job: &Job, deadline: Instant) -> Result<Outcome, ApiError> {
        let id = job.identity();
        loop {
            let Some(trail) = self.store.get_trail(&id, &id.region, &job.resource).await? else {
                // Deleted: nothing more to deliver.
                return Ok(if self.store.delete_job(job).await? { Outcome::Done } else { Outcome::Superseded });
            };
            match self.deliver(&id, &trail).await? {
                Delivered::Window { more: true } if Instant::now() < deadline => continue,
                Delivered::Window { more: true } => return Ok(Outcome::Paused),
                Delivered::CaughtUp => {
                    return Ok(if self.store.delete_job(job).await? { Outcome::Done } else { Outcome::Superseded });
                }
                Delivered::Window { more: false } | Delivered::NotDue | Delivered::Failed | Delivered::Lost => {
                    return Ok(Outcome::Waiting);
                }
            }
        }
    }

    /// Delivers the trail's next window if one is due (or one a crash left claimed).
    async fn deliver(&self, id: &Identity, trail: &Trail) -> Result<Delivered, ApiError> {
        let Some(started) = trail.start_logging_time else { return Ok(Delivered::CaughtUp) };
        let status = self.store.trail_status(id, &trail.home_region, &trail.name).await?;
        let now = now_millis();
        // Records from the latest StartLogging on (a stop and restart skips the time between).
        let floor = time13(started);
        let after = status.delivered_through.clone().filter(|d| *d > floor).unwrap_or(floor);
        let stopped = (!trail.is_logging).then_some(trail.stop_logging_time.unwrap_or(started));
        // A stopped trail still delivers what it logged, and the StopLogging record itself.
        let stopped = stopped.map(|stop| stop + STOP_RECORD_MS);
        let end = match stopped {
            Some(stop) => (now - self.settle_ms).min(stop),
            None => now - self.settle_ms,
        };
        let upto = audit_sort_range(end, end).1;
        let (through, claimed) = match &status.pending_through {
            Some(p) => (p.clone(), true),
            None => {
                if after >= upto {
                    let settled = stopped.is_some_and(|stop| now - self.settle_ms >= stop);
                    return Ok(if settled { Delivered::CaughtUp } else { Delivered::NotDue });
                }
                let last_file = sort_time(&after);
                if stopped.is_none() && end - last_file < self.interval_ms {
                    return Ok(Delivered::NotDue);
                }
                (upto, false)
            }
        };
        let regions: Vec<String> =
            if trail.is_multi_region_trail { self.regions.clone() } else { vec![trail.home_region.clone()] };
        let (window, more) =
            self.store.audit_window(&id.account_id, &regions, &after, &through, self.file_records).await?;
        // A window cut at the cap ends at its last record.
        let through = match (more, window.last()) {
            (true, Some(last)) => last.sort.clone(),
            _ => through,
        };
        if !claimed {
            let claim = vec![("pendingThrough", text(&through))];
            let unchanged = status_member_is("deliveredThrough", status.delivered_through.as_deref())
                .merge(status_member_is("pendingThrough", None));
            if !self.store.change_trail_status(id, &trail.home_region, &trail.name, claim, Some(unchanged)).await? {
                return Ok(Delivered::Lost);
            }
        }
        let records: Vec<&Windowed> = window
            .iter()
            .filter(|w| trail.covers(&w.region) && takes(trail, &id.account_id, &w.record))
            .filter(|w| self.data_events || !logbook_audit::is_data_event_name(&w.record.event_name))
            .collect();
        let mut change = vec![("pendingThrough", None), ("deliveredThrough", text(&through))];
        if !records.is_empty() {
            let files = log_files(trail, &id.account_id, &after, &through, &records)?;
            let attempt = now_millis();
            let mut written = Vec::new();
            for (key, body) in files {
                match self.put(&trail.s3_bucket_name, &key, body).await {
                    Ok(()) => written.push(key),
                    Err(error) => {
                        tracing::warn!(trail = %trail.name, bucket = %trail.s3_bucket_name, %error, "trail log file not delivered");
                        let failed =
                            vec![("latestDeliveryAttemptTime", millis(attempt)), ("latestDeliveryError", text(&error))];
                        self.store.change_trail_status(id, &trail.home_region, &trail.name, failed, None).await?;
                        return Ok(Delivered::Failed);
                    }
                }
            }
            let delivered = now_millis();
            change.extend([
                ("latestDeliveryTime", millis(delivered)),
                ("latestDeliveryAttemptTime", millis(attempt)),
                ("latestDeliveryError", None),
            ]);
            if let Some(topic) = trail.topic_arn(&id.account_id) {
                change.extend(self.notify(&topic, &trail.s3_bucket_name, &written).await);
            }
        }
        let claim = status_member_is("pendingThrough", Some(&through));
        if !self.store.change_trail_status(id, &trail.home_region, &trail.name, change, Some(claim)).await? {
            return Ok(Delivered::Lost);
        }
        // A window a crashed run had claimed is finished: what came after it is due now, not at
        // the next schedule (the next pass finds it, or finds nothing due).
        Ok(Delivered::Window { more: more || claimed })
    }

    /// Puts one log file; the S3 error code when it was refused or failed.
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        let put = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .acl(ObjectCannedAcl::BucketOwnerFullControl)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) => Err(match refusal_of(&e) {
                Some(Refusal::NoBucket) => "NoSuchBucket".to_owned(),
                Some(Refusal::Denied) => "AccessDenied".to_owned(),
                None => {
                    use aws_sdk_s3::error::ProvideErrorMetadata;
                    e.code().unwrap_or("InternalError").to_owned()
                }
            }),
        }
    }

    /// One notification per file, as CloudTrail sends them; the status members it sets.
    async fn notify(&self, topic: &str, bucket: &str, keys: &[String]) -> StatusChange<'static> {
        let attempt = now_millis();
        let mut error = None;
        for key in keys {
            let message = serde_json::json!({ "s3Bucket": bucket, "s3ObjectKey": [key] }).to_string();
            if let Err(e) = self.sns.publish(topic, &message).await {
                tracing::warn!(%topic, error = %e, "trail notification not sent");
                error = Some(e.to_string());
            }
        }
        let mut change = vec![("latestNotificationAttemptTime", millis(attempt))];
        match error {
            Some(e) => change.push(("latestNotificationError", text(&e))),
            None => {
                change.extend([("latestNotificationTime", millis(now_millis())), ("latestNotificationError", None)])
            }
        }
        change
    }
}

/// Whether the trail delivers the record (see [`Trail::takes`]).
pub fn takes(trail: &Trail, account: &str, r: &logbook_audit::AuditRecord) -> bool {
    let arns: Vec<&str> = r.resources.iter().map(|x| x.arn.as_str()).collect();
    trail.takes(r.event_time, &r.event_name, &arns, account)
}

/// The time (ms) an audit sort key starts with.
fn sort_time(sort: &str) -> i64 {
    sort.get(..13).and_then(|t| t.parse().ok()).unwrap_or(0)
}

/// The window's files, one per region: (key, gzip body). Keys depend only on the trail and the
/// window, so a window written again lands on the same objects.
fn log_files(
    trail: &Trail,
    account: &str,
    after: &str,
    through: &str,
    records: &[&Windowed],
) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let mut regions: Vec<&str> = records.iter().map(|w| w.region.as_str()).collect();
    regions.sort_unstable();
    regions.dedup();
    let time = logbook_audit::iso8601(sort_time(through).min(now_millis()));
    let mut files = Vec::new();
    for region in regions {
        let unique = unique16(&[&trail.arn(account), region, after, through]);
        let key = log_file_key(trail.s3_key_prefix.as_deref(), account, region, &time, &unique);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        let mut first = true;
        gz.write_all(b"{\"Records\":[").map_err(ApiError::internal)?;
        for w in records.iter().filter(|w| w.region == region) {
            if !first {
                gz.write_all(b",").map_err(ApiError::internal)?;
            }
            first = false;
            gz.write_all(w.record.cloudtrail_event.as_bytes()).map_err(ApiError::internal)?;
        }
        gz.write_all(b"]}").map_err(ApiError::internal)?;
        files.push((key, gz.finish().map_err(ApiError::internal)?));
    }
    Ok(files)
}

/// 16 alphanumerics derived from `parts` (CloudTrail's are random; these are stable, so a
/// rewritten file keeps its key).
fn unique16(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().take(16).map(|b| ALPHABET[*b as usize % 62] as char).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unique_parts_are_stable_alphanumerics() {
        let a = super::unique16(&["arn", "us-east-1", "1", "2"]);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(a, super::unique16(&["arn", "us-east-1", "1", "2"]));
        assert_ne!(a, super::unique16(&["arn", "us-east-1", "1", "3"]));
        assert_ne!(super::unique16(&["ab", "c"]), super::unique16(&["a", "bc"]));
    }

    #[test]
    fn sort_times() {
        assert_eq!(super::sort_time("1765071722000#abc"), 1_765_071_722_000);
        assert_eq!(super::sort_time("x"), 0);
    }
}
