//! The one endpoint: `POST /` carries every action, and API Gateway cannot route on the
//! `X-Amz-Target` header. The router reads that header, finds the action's group in the catalogue
//! and invokes the group's function with the untouched API Gateway event, returning its response
//! as is. It parses no body and touches no data; its role may only invoke the group functions.

use aws_sdk_lambda::primitives::Blob;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use logbook_protocol::{ApiError, Group, Target};
use serde_json::{Value, json};

struct Router {
    lambda: aws_sdk_lambda::Client,
    /// Signatures are checked (`LOGBOOK_AUTH` is `sigv4`, the default).
    checked: bool,
}

/// The signature checks the router can make without the key store: one is there (when
/// signatures are checked) and it is well formed. The group function verifies it before
/// anything else; this only spares it (and a Lambda invocation) calls that cannot pass.
fn signature_present(payload: &Value, checked: bool) -> Result<(), ApiError> {
    let headers: Vec<(&str, &str)> = payload
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v))).collect())
        .unwrap_or_default();
    let req = logbook_auth::Request {
        method: "POST",
        path: payload.get("rawPath").and_then(Value::as_str).unwrap_or("/"),
        query: payload.get("rawQueryString").and_then(Value::as_str).filter(|q| !q.is_empty()),
        headers: &headers,
        body: &[],
    };
    match logbook_auth::Signature::parse(&req)? {
        None if checked => Err(logbook_auth::sigv4::missing()),
        _ => Ok(()),
    }
}

impl Router {
    async fn route(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let request_id = event.context.request_id.clone();
        if let Err(e) = signature_present(&event.payload, self.checked) {
            return Ok(error_response(&request_id, &e));
        }
        if !logbook_protocol::pipeline::is_json_content_type(header(&event.payload, "content-type")) {
            return Ok(error_response(&request_id, &ApiError::unsupported_content_type()));
        }
        let target = header(&event.payload, "x-amz-target");
        let group = match Target::parse(target) {
            Target::Known(action) => {
                action.group().ok_or_else(|| logbook_protocol::pipeline::unknown_operation(target.unwrap_or_default()))
            }
            Target::Unknown(t) => Err(logbook_protocol::pipeline::unknown_operation(&t)),
        };
        let action = match Target::parse(target) {
            Target::Known(a) => Some(a),
            Target::Unknown(_) => None,
        };
        let result = match group {
            Ok(group) => self.forward(group, event.payload).await,
            Err(e) => Err(e),
        };
        Ok(result.unwrap_or_else(|e| {
            logbook_protocol::pipeline::log_error(&request_id, action, &Err(e.clone()));
            error_response(&request_id, &e)
        }))
    }

    async fn forward(&self, group: Group, payload: Value) -> Result<Value, ApiError> {
        let name = std::env::var(group.function_env_var()).unwrap_or_else(|_| group.bin_name().to_owned());
        let bytes = serde_json::to_vec(&payload).map_err(ApiError::internal)?;
        let out = self
            .lambda
            .invoke()
            .function_name(&name)
            .payload(Blob::new(bytes))
            .send()
            .await
            .map_err(|e| ApiError::internal(aws_sdk_lambda::error::DisplayErrorContext(e)))?;
        let body = out.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = out.function_error {
            return Err(ApiError::internal(format!("{name} failed ({kind}): {}", String::from_utf8_lossy(&body))));
        }
        serde_json::from_slice(&body).map_err(ApiError::internal)
    }
}

/// Header lookup on the raw event: HTTP API lower-cases names, REST APIs keep the client's case.
fn header<'a>(payload: &'a Value, name: &str) -> Option<&'a str> {
    payload.get("headers")?.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?.1.as_str()
}

fn error_response(request_id: &str, e: &ApiError) -> Value {
    json!({
        "statusCode": e.status(),
        "headers": {
            "content-type": e.content_type(),
            "x-amzn-RequestId": request_id,
        },
        "multiValueHeaders": {},
        "body": e.to_body(),
        "isBase64Encoded": false,
        // Required by the API Gateway v2 response shape (`cargo lambda watch` rejects it without).
        "cookies": [],
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    logbook_protocol::init_tracing();
    // AWS_ENDPOINT_URL_LAMBDA points this at `cargo lambda watch`'s Invoke API when local.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let checked = logbook_auth::Mode::from_env()? == logbook_auth::Mode::SigV4;
    let router: &'static Router = Box::leak(Box::new(Router { lambda: aws_sdk_lambda::Client::new(&config), checked }));
    lambda_runtime::run(service_fn(move |event| router.route(event))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_any_case() {
        let v = json!({ "headers": { "X-Amz-Target": "Logs_20140328.CreateLogGroup" } });
        assert_eq!(header(&v, "x-amz-target"), Some("Logs_20140328.CreateLogGroup"));
        assert_eq!(header(&json!({}), "x-amz-target"), None);
    }

    #[test]
    fn unsigned_and_malformed_calls_stop_at_the_router() {
        let signed = json!({ "headers": { "authorization": "AWS4-HMAC-SHA256 Credential=AK/20261120/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "x-amz-date": "20261120T000000Z" } });
        assert!(signature_present(&signed, true).is_ok(), "the group verifies it");
        let unsigned = json!({ "headers": { "x-amz-target": "Logs_20140328.DescribeLogGroups" } });
        assert_eq!(
            signature_present(&unsigned, true).unwrap_err().code,
            logbook_protocol::ErrorCode::MissingAuthenticationTokenException
        );
        assert!(signature_present(&unsigned, false).is_ok(), "with signatures off, the group decides");
        let malformed = json!({ "headers": { "authorization": "AWS4-HMAC-SHA256 Credential=x" } });
        assert_eq!(
            signature_present(&malformed, false).unwrap_err().code,
            logbook_protocol::ErrorCode::IncompleteSignatureException
        );
    }

    #[test]
    fn errors_are_proxy_responses() {
        let r = error_response("rid", &logbook_protocol::pipeline::unknown_operation("X.Y"));
        assert_eq!(r["statusCode"], 400);
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["__type"], "UnknownOperationException");
    }
}
