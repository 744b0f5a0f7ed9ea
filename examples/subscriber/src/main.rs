//! An example subscription target, as AWS documents them: a Lambda function that CloudWatch Logs
//! (here Logbook) invokes asynchronously with `{"awslogs":{"data":"<base64 of gzip>"}}`. It
//! decodes the `DATA_MESSAGE`, skips the `CONTROL_MESSAGE` health checks, and keeps each message
//! as a JSON object in S3 (bucket `SUBSCRIBER_BUCKET`, default `logbook-subscriber`), keyed by
//! log group, stream and first event id, so a message delivered twice is kept once.
//!
//! Locally `cargo lambda watch` (under `scripts/serve`) serves it as `subscriber`; a filter
//! whose `destinationArn` is `arn:aws:lambda:us-east-1:123456789012:function:subscriber`
//! delivers to it, and its S3 is the local one (moto).

use std::io::Read;

use base64::Engine as _;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The message inside an `awslogs` event, or `None` for anything else.
fn decode(event: &Value) -> Result<Option<Value>, Error> {
    let Some(data) = event["awslogs"]["data"].as_str() else { return Ok(None) };
    let gz = base64::engine::general_purpose::STANDARD.decode(data)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text)?;
    Ok(Some(serde_json::from_str(&text)?))
}

/// Where a message is kept: one object per message, the same for a repeat of it.
fn key(message: &Value) -> String {
    let first = message["logEvents"][0]["id"].as_str().unwrap_or("none");
    let clean = |v: &Value| v.as_str().unwrap_or_default().replace('/', "-");
    format!("{}/{}/{first}.json", clean(&message["logGroup"]), clean(&message["logStream"]))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Path-style addressing works with S3 and with local S3-compatible servers alike.
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let bucket = std::env::var("SUBSCRIBER_BUCKET").unwrap_or_else(|_| "logbook-subscriber".to_owned());
    let (s3, bucket) = (&s3, bucket.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let Some(message) = decode(&event.payload)? else { return Ok::<Value, Error>(json!({ "kept": 0 })) };
        if message["messageType"] != "DATA_MESSAGE" {
            return Ok(json!({ "kept": 0, "skipped": message["messageType"] }));
        }
        if s3.head_bucket().bucket(bucket).send().await.is_err() {
            let _ = s3.create_bucket().bucket(bucket).send().await;
        }
        let body = aws_sdk_s3::primitives::ByteStream::from(serde_json::to_vec(&message)?);
        s3.put_object().bucket(bucket).key(key(&message)).body(body).send().await?;
        Ok(json!({ "kept": message["logEvents"].as_array().map_or(0, Vec::len) }))
    }))
    .await
}
