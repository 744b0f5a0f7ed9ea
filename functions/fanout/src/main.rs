#![recursion_limit = "256"]
//! The fan-out function: the table's stream (deployed: an event source mapping; locally: the
//! feeder `scripts/serve` runs) in, deliveries out. See the library for how.

use lambda_runtime::{LambdaEvent, service_fn};
use logbook_fanout::{Backoff, Fanout};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logbook_protocol::init_tracing();
    let fanout = Fanout {
        store: logbook_storage::Store::from_env().await,
        targets: logbook_delivery::Targets::from_env().await,
        backoff: Backoff::DEPLOYED,
        scope: None,
        data_events: logbook_audit::data_events_enabled(),
    };
    let fanout = &fanout;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, lambda_runtime::Error>(fanout.handle(&event.payload).await)
    }))
    .await
}
