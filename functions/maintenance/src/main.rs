use std::time::{Duration, Instant};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use logbook_maintenance::Worker;
use serde_json::Value;

/// Left of the invocation's time when the worker stops taking new steps, so it saves its cursor
/// and answers before Lambda cuts it off.
const MARGIN: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Error> {
    logbook_protocol::init_tracing();
    let worker = Worker::from_env().await;
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Any event starts a run: the schedule's, or `{}` from scripts/serve.
        let left = event.context.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
        let deadline = Instant::now() + left.saturating_sub(MARGIN).max(Duration::from_secs(1));
        let report = worker.run(deadline, usize::MAX).await.map_err(|e| {
            // The worker's edge: an internal error's detail is logged here, once.
            tracing::error!(error = %e, detail = e.detail().unwrap_or_default(), "worker run failed");
            Error::from(e.to_string())
        })?;
        // Every run is logged at debug (one every few seconds under scripts/serve); work done at info.
        if report == logbook_maintenance::Report::default() {
            tracing::debug!("worker run: no jobs");
        } else {
            tracing::info!(?report, "worker run");
        }
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
