//! What the large-export test and the export bench share: a group filled with many megabytes of
//! access-log lines (1 MB PutLogEvents calls, as shippers send at full tilt), the process's
//! resident-memory high-water mark, and an export run to its end with the worker's code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use logbook_maintenance::Worker;
use logbook_maintenance::export::Exporter;
use logbook_model::exports::{ExportProgress, ExportStatus};
use logbook_protocol::Identity;
use logbook_storage::{Meter, Store};
use serde_json::{Value, json};

use crate::bench::call;
use crate::{access_line, lambda_request};

/// The process's resident memory and its high-water mark (Linux `/proc`), so a test can say how
/// much memory a phase needed: [`Rss::reset`] starts a phase (the kernel's peak is reset to what
/// is resident now), [`Rss::peak`] reads the peak since.
pub struct Rss;

impl Rss {
    fn status(field: &str) -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            .unwrap_or(0);
        kb * 1024
    }

    /// Resets the peak to the current resident size; returns it.
    pub fn reset() -> usize {
        // "5" resets VmHWM (see proc(5), /proc/pid/clear_refs).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        Rss::status("VmRSS:")
    }

    pub fn peak() -> usize {
        Rss::status("VmHWM:")
    }
}

/// Bytes of message text per event, events per call (one call ≈ 1 MB, PutLogEvents' limit).
pub const LINE: usize = 1000;
pub const PER_CALL: usize = 1000;

/// Fills `group` (created here) with at least `mb` MB of message text in `streams` streams, one
/// writer each, events a millisecond apart ending now. Returns (events, message bytes).
pub async fn fill(account: &str, group: &str, streams: usize, mb: usize) -> (u64, u64) {
    let tokens = logbook_model::TokenCodec::new(b"bench");
    let groups = logbook_log_groups::LogGroups { store: crate::store(), tokens: tokens.clone() };
    let log_streams = logbook_log_streams::LogStreams { store: crate::store(), tokens: tokens.clone() };
    let events = Arc::new(logbook_log_events::LogEvents { store: crate::store(), tokens });
    let req = |target: &str, body: Value| lambda_request(account, target, body.to_string());
    call(&groups, req("Logs_20140328.CreateLogGroup", json!({ "logGroupName": group }))).await;
    let calls_per_stream = (mb * 1_000_000).div_ceil(LINE * PER_CALL * streams);
    let total = (calls_per_stream * PER_CALL) as i64;
    let start = logbook_storage::now_millis() - total - 1_000;
    let mut writers = Vec::new();
    for s in 0..streams {
        let name = format!("app/{s}");
        call(
            &log_streams,
            req("Logs_20140328.CreateLogStream", json!({ "logGroupName": group, "logStreamName": name })),
        )
        .await;
        let (events, account, group) = (events.clone(), account.to_owned(), group.to_owned());
        writers.push(tokio::spawn(async move {
            for c in 0..calls_per_stream {
                let batch: Vec<Value> = (0..PER_CALL)
                    .map(|i| {
                        let n = (c * PER_CALL + i) as u64;
                        json!({ "timestamp": start + n as i64, "message": access_line(n * 64 + s as u64, LINE) })
                    })
                    .collect();
                let body = json!({ "logGroupName": group, "logStreamName": name, "logEvents": batch });
                call(&*events, lambda_request(&account, "Logs_20140328.PutLogEvents", body.to_string())).await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let n = (calls_per_stream * PER_CALL * streams) as u64;
    (n, n * LINE as u64)
}

/// What an export run to its end did.
pub struct Run {
    pub seconds: f64,
    pub progress: ExportProgress,
    pub status: ExportStatus,
    /// Resident memory's high-water mark during the run, above what was resident before it.
    pub peak_rss: usize,
    pub worker_runs: usize,
}

/// Runs the worker's exporter (on `store`, objects of `object_bytes`) until the task ends.
pub async fn run_export(account: &str, task_id: &str, store: Store, object_bytes: usize) -> Run {
    let id =
        Identity { account_id: account.to_owned(), region: "us-east-1".into(), access_key_id: None, user_name: None };
    let worker = Worker {
        store: store.clone(),
        settle: Duration::ZERO,
        scope: Some(id.clone()),
        publisher: None,
        exporter: Some(Exporter { store: store.clone(), s3: crate::s3(), object_bytes }),
        trails: None,
    };
    let base = Rss::reset();
    let t = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        worker.run(Instant::now() + Duration::from_secs(60), usize::MAX).await.unwrap();
        let task = store.export_task(&id, task_id).await.unwrap().unwrap();
        if !task.status.is_active() {
            return Run {
                seconds: t.elapsed().as_secs_f64(),
                progress: task.progress,
                status: task.status,
                peak_rss: Rss::peak().saturating_sub(base),
                worker_runs: runs,
            };
        }
    }
}

/// A metered store, for counting an export's read units.
pub fn metered() -> (Store, Arc<Meter>) {
    let meter = Arc::new(Meter::default());
    (crate::store().with_meter(meter.clone()), meter)
}
