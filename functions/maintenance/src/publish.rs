//! Publishes metric filters' datapoints to CloudWatch, each event's contribution exactly once
//! (the protocol is described in `logbook_storage::metrics`). It runs with every worker run:
//! every minute deployed (CloudWatch Logs too publishes about a minute behind), every few seconds
//! under `scripts/serve`.

use std::time::{Duration, Instant};

use logbook_delivery::cloudwatch::{CallError, CloudWatch};
use logbook_model::datapoints::{Bucket, MINUTE_MS, Point, Round, Stat, calls};
use logbook_protocol::ApiError;
use logbook_storage::metrics::{CALL_DATAPOINTS, Flight, ROUND_DELTAS};
use logbook_storage::{Store, now_millis};
use serde::Serialize;

/// How long the lease lasts: longer than a worker run (the function times out at 60 s).
pub const LEASE: Duration = Duration::from_secs(300);
/// Deployed, how old a flight left behind must be before it is judged: CloudWatch shows a
/// datapoint within a minute or two of accepting it, and the check must see it if it landed.
pub const RECOVER_AFTER: Duration = Duration::from_secs(180);
/// CloudWatch takes datapoints up to two weeks old; older ones are dropped (and logged).
const OLDEST_MS: i64 = 14 * 86_400_000 - 10 * MINUTE_MS;

/// Where a test makes the publisher stop as if its process died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// After a PutMetricData call answered, before it is confirmed in the table.
    AfterCall,
    /// After a flight is recorded, before its first call.
    BeforeCall,
}

pub struct Publisher {
    pub store: Store,
    pub cloudwatch: CloudWatch,
    pub recover_after: Duration,
    /// How long the lease lasts unless given back: longer than a run.
    pub lease: Duration,
    /// Fault injection for tests; `None` in every deployed and served binary.
    pub crash: Option<Crash>,
}

/// What one run published.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub calls: usize,
    pub datapoints: usize,
    /// Flights a dead publisher left behind, finished.
    pub recovered: usize,
    /// Calls CloudWatch refused, and datapoints too old for it: dropped and logged.
    pub dropped: usize,
    /// Another publisher holds the lease, or a flight left behind is not old enough to judge.
    pub waiting: bool,
}

impl Publisher {
    /// The worker's publisher on `store`, publishing with the function's credentials;
    /// `LOGBOOK_METRICS_RECOVER_SECONDS` overrides [`RECOVER_AFTER`] (moto shows a datapoint at once).
    pub fn from_env(store: Store, config: &aws_config::SdkConfig) -> Publisher {
        let recover_after = std::env::var("LOGBOOK_METRICS_RECOVER_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(RECOVER_AFTER, Duration::from_secs);
        Publisher { store, cloudwatch: CloudWatch::new(config), recover_after, lease: LEASE, crash: None }
    }

    /// Publishes what is pending until `deadline`: first the flight a dead publisher left, then
    /// round after round of pending deltas.
    pub async fn run(&self, deadline: Instant) -> Result<Published, ApiError> {
        let mut done = Published::default();
        if !self.store.metrics_waiting().await? {
            return Ok(done);
        }
        let owner = ulid::Ulid::new().to_string();
        let now = now_millis();
        let Some(lease) = self.store.take_publisher_lease(&owner, now, now + self.lease.as_millis() as i64).await?
        else {
            done.waiting = true;
            return Ok(done);
        };
        let result = self.publish(&owner, lease.flight, deadline, &mut done).await;
        if self.crash.is_none() || result.is_ok() {
            self.store.release_publisher_lease(&owner).await?;
        }
        result.map(|()| done)
    }

    async fn publish(
        &self,
        owner: &str,
        left: Option<Flight>,
        deadline: Instant,
        done: &mut Published,
    ) -> Result<(), ApiError> {
        if let Some(flight) = left {
            if now_millis() - flight.at < self.recover_after.as_millis() as i64 {
                done.waiting = true;
                return Ok(());
            }
            tracing::warn!(flight = %flight.id, sent = flight.sent, "finishing a publication left behind");
            self.fly(owner, flight, true, done).await?;
            done.recovered += 1;
        }
        while Instant::now() < deadline {
            let pending = self.store.pending_metric_deltas(ROUND_DELTAS).await?;
            if pending.is_empty() {
                break;
            }
            let flight = Flight {
                id: ulid::Ulid::new().to_string(),
                at: now_millis(),
                deltas: pending,
                sent: 0,
                finishing: false,
            };
            if !self.store.start_flight(owner, &flight).await? {
                return Err(ApiError::internal("the metric publisher's lease was lost"));
            }
            if self.crash == Some(Crash::BeforeCall) {
                return Err(ApiError::internal("crash injected before the first call"));
            }
            self.fly(owner, flight, false, done).await?;
        }
        Ok(())
    }

    /// Sends a flight's calls from its first unconfirmed one, then ends it. `recovering`: the
    /// first unconfirmed call may have landed already; CloudWatch is asked before it is sent.
    async fn fly(&self, owner: &str, flight: Flight, recovering: bool, done: &mut Published) -> Result<(), ApiError> {
        if flight.finishing {
            return self.store.finish_flight(owner, &flight).await;
        }
        // The same deltas sum to the same calls, in the same order, every time (only this
        // flight's owner takes them out of the pending index, once every call is confirmed).
        let deltas = self.store.metric_deltas(&flight.deltas).await?;
        let mut round = Round::default();
        for d in &deltas {
            round.add(d);
        }
        let (points, too_old): (Vec<Point>, Vec<Point>) =
            round.datapoints().into_iter().partition(|(b, _)| b.minute >= flight.at - OLDEST_MS);
        if !too_old.is_empty() {
            tracing::warn!(datapoints = too_old.len(), "metric datapoints older than CloudWatch takes were dropped");
            done.dropped += too_old.len();
        }
        let calls = calls(points, CALL_DATAPOINTS);
        for (i, call) in calls.iter().enumerate().skip(flight.sent) {
            let namespace = &call[0].0.namespace;
            if recovering && i == flight.sent && self.landed(call).await? {
                tracing::warn!(flight = %flight.id, call = i, "a call left behind had landed: confirming it");
                self.confirm(owner, &flight, i, call).await?;
                continue;
            }
            match self.cloudwatch.put_metric_data(namespace, call).await {
                Ok(()) => {
                    if self.crash == Some(Crash::AfterCall) {
                        return Err(ApiError::internal("crash injected after a call"));
                    }
                    self.confirm(owner, &flight, i, call).await?;
                    done.calls += 1;
                    done.datapoints += call.len();
                }
                Err(CallError::Refused(detail)) => {
                    tracing::error!(%namespace, datapoints = call.len(), %detail, "CloudWatch refused metric datapoints; dropped");
                    if !self.store.confirm_call(owner, &flight, i, &[]).await? {
                        return Err(ApiError::internal("the metric publisher's lease was lost"));
                    }
                    done.dropped += call.len();
                }
                // Whether it landed is unknown: the flight stays, and is judged once CloudWatch
                // would show it.
                Err(CallError::Unsure(detail)) => {
                    return Err(ApiError::internal(format!("PutMetricData did not answer: {detail}")));
                }
            }
        }
        self.store.finish_flight(owner, &flight).await
    }

    async fn confirm(&self, owner: &str, flight: &Flight, i: usize, call: &[(Bucket, Stat)]) -> Result<(), ApiError> {
        if self.store.confirm_call(owner, flight, i, call).await? {
            Ok(())
        } else {
            Err(ApiError::internal("the metric publisher's lease was lost"))
        }
    }

    /// Whether a call landed: its first datapoint holds more samples in CloudWatch than were
    /// confirmed (a call lands whole or not at all).
    async fn landed(&self, call: &[(Bucket, Stat)]) -> Result<bool, ApiError> {
        let (bucket, _) = &call[0];
        let confirmed = self.store.published_count(bucket).await?;
        let held = self
            .cloudwatch
            .sample_count(bucket)
            .await
            .map_err(|e| ApiError::internal(format!("GetMetricStatistics: {e}")))?;
        Ok(held > confirmed as f64 + 0.5)
    }
}
