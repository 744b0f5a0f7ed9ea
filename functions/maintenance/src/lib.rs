//! The background worker. It runs on a schedule (every minute in AWS, every few seconds under
//! `scripts/serve`), takes every queued job in turn and advances it within its time budget. Jobs
//! are idempotent and resumable (see `logbook_storage::work`), so runs may overlap or die.

pub mod export;
pub mod publish;
pub mod trail;

use std::time::{Duration, Instant};

use logbook_protocol::{ApiError, Identity};
use logbook_storage::Store;
use logbook_storage::work::{Budget, JobKind, Outcome};
use serde::Serialize;

/// How long after a change a job's final pass may start: longer than any request that read the
/// old state can still run (the functions time out at 29 s).
pub const SETTLE: Duration = Duration::from_secs(120);

pub struct Worker {
    pub store: Store,
    pub settle: Duration,
    /// Only this account's and region's jobs (tests share one table); all when none.
    pub scope: Option<Identity>,
    /// Metric filters' datapoints to CloudWatch, after the jobs.
    pub publisher: Option<publish::Publisher>,
    /// Export tasks' objects to S3 (export jobs wait without one).
    pub exporter: Option<export::Exporter>,
    /// Trails' log files to S3 and their notifications (trail jobs wait without one).
    pub trails: Option<trail::TrailDeliverer>,
}

/// What one run did, for the logs and the caller.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub done: usize,
    pub settling: usize,
    pub waiting: usize,
    pub paused: usize,
    pub superseded: usize,
    /// Jobs whose turn failed (a DynamoDB fault): each is left as it was and tried again on the
    /// next run; the other jobs still get theirs.
    pub failed: usize,
    /// Item writes spent (TTL updates and deletes).
    pub writes: usize,
    /// Metric datapoints published.
    pub metrics: publish::Published,
}

impl Worker {
    /// `LOGBOOK_SETTLE_SECONDS` overrides [`SETTLE`].
    pub async fn from_env() -> Self {
        let settle = std::env::var("LOGBOOK_SETTLE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(SETTLE, Duration::from_secs);
        // One store (one DynamoDB client) for the jobs and the publisher.
        let store = Store::from_env().await;
        // One AWS configuration for the publisher's CloudWatch and the exporter's S3.
        let config = aws_config::load_from_env().await;
        let publisher = Some(publish::Publisher::from_env(store.clone(), &config));
        let exporter = Some(export::Exporter::from_env(store.clone(), &config));
        let trails = Some(trail::TrailDeliverer::from_env(store.clone(), &config));
        Worker { store, settle, scope: None, publisher, exporter, trails }
    }

    /// Advances every queued job until the deadline or `max_writes` item writes are spent.
    pub async fn run(&self, deadline: Instant, max_writes: usize) -> Result<Report, ApiError> {
        let mut budget = Budget { deadline, writes: max_writes };
        let mut report = Report::default();
        let settle_ms = self.settle.as_millis() as i64;
        for job in self.store.jobs(self.scope.as_ref()).await? {
            if Instant::now() >= budget.deadline || budget.writes == 0 {
                report.paused += 1;
                continue;
            }
            let before = budget.writes;
            let outcome = match (job.kind, &self.exporter, &self.trails) {
                (JobKind::Export, Some(exporter), _) => exporter.run(&job, budget.deadline).await,
                (JobKind::Trail, _, Some(trails)) => trails.run(&job, budget.deadline).await,
                (JobKind::Export | JobKind::Trail, _, _) => Ok(Outcome::Waiting),
                _ => self.store.run_job(&job, settle_ms, &mut budget).await,
            };
            report.writes += before - budget.writes;
            // One job's failure is its own: logged with its detail, retried next run (each step
            // is idempotent and its cursor saved), and the other jobs go on.
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(kind = ?job.kind, resource = %job.resource, code = %e.code,
                        detail = e.detail().unwrap_or_default(), "job failed; retried next run");
                    report.failed += 1;
                    continue;
                }
            };
            tracing::info!(kind = ?job.kind, resource = %job.resource, ?outcome, "job");
            match outcome {
                Outcome::Done => report.done += 1,
                Outcome::Settling => report.settling += 1,
                Outcome::Waiting => report.waiting += 1,
                Outcome::Paused => report.paused += 1,
                Outcome::Superseded => report.superseded += 1,
            }
        }
        if let Some(p) = &self.publisher {
            // Its own failure is logged and retried next run, as a job's is.
            match p.run(deadline).await {
                Ok(published) => report.metrics = published,
                Err(e) => {
                    tracing::warn!(code = %e.code, detail = e.detail().unwrap_or_default(), "metric publication failed; retried next run");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}
