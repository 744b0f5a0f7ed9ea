//! usage: local-streams DYNAMODB_ENDPOINT TABLE INVOKE_URL STATE_FILE
//!
//! Feeds the fan-out function (served by `cargo lambda watch` at INVOKE_URL) from the table's
//! stream on DynamoDB Local, as the event source mapping does in AWS; the checkpoint is kept in
//! STATE_FILE. Started by `scripts/serve`.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use logbook_local_streams::{Feeder, Start};
use serde_json::Value;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, table, invoke, state] = args.as_slice() else {
        eprintln!("usage: local-streams DYNAMODB_ENDPOINT TABLE INVOKE_URL STATE_FILE");
        std::process::exit(2);
    };
    let mut feeder = loop {
        match Feeder::new(endpoint, table, Some(state.into()), Start::Latest, None).await {
            Ok(f) => break f,
            Err(e) => {
                eprintln!("local-streams: {e}; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let url = format!("{}/2015-03-31/functions/fanout/invocations", invoke.trim_end_matches('/'));
    let client = &client;
    let url = url.as_str();
    eprintln!("local-streams: feeding {url}");
    feeder
        .run(
            move |event: Value| async move {
                let req = hyper::Request::post(url)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(event.to_string())))
                    .map_err(|e| e.to_string())?;
                let answer = client.request(req).await.map_err(|e| e.to_string())?;
                let failed = answer.headers().contains_key("x-amz-function-error") || !answer.status().is_success();
                let status = answer.status();
                let body = answer.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
                if failed {
                    return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
                }
                serde_json::from_slice(&body).map_err(|e| e.to_string())
            },
            Duration::from_millis(100),
        )
        .await;
}
