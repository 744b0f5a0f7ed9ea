//! The console function: `GET /console` and `GET /console/{file}` (see the library).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Lambda sets AWS_REGION; locally `cargo lambda watch` does too (or the default).
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let region = region.clone();
        async move {
            let p = &event.payload;
            let method = p.pointer("/requestContext/http/method").and_then(Value::as_str).unwrap_or("GET");
            let path = p.get("rawPath").and_then(Value::as_str).unwrap_or("/console");
            let etag = p.pointer("/headers/if-none-match").and_then(Value::as_str);
            Ok::<Value, Error>(logbook_console::respond(method, path, etag, &region))
        }
    }))
    .await
}
