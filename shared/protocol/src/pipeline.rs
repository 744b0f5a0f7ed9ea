//! The one request pipeline every group function runs: resolve the target, check that this group
//! serves it, resolve the caller, hand the body to the group, encode the answer. Handlers see a
//! [`Call`] and return JSON or an [`ApiError`]; they never build HTTP responses themselves.

use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;

use crate::action::{Action, GroupOp, Target};
use crate::error::{ApiError, ErrorCode};
use crate::identity::Identity;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";

/// One decoded call, ready for a group's handler.
#[derive(Debug, Clone)]
pub struct Call {
    pub action: Action,
    pub identity: Identity,
    pub request_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The SDK's `amz-sdk-invocation-id`: the same on every retry of one call, different for
    /// another call. PutLogEvents keys its chunks by it, so a retried batch is stored once.
    pub invocation_id: Option<String>,
    body: Vec<u8>,
}

impl Call {
    pub fn new(action: Action, identity: Identity, request_id: String, body: Vec<u8>) -> Call {
        Call { action, identity, request_id, source_ip: None, user_agent: None, invocation_id: None, body }
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as the action's request type. Bodies that are not a JSON object, and members of
    /// the wrong JSON type, are `SerializationException`s, as AWS answers them. Required members
    /// are `Option`s in request types so that their absence becomes a constraint violation.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &self.body };
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(ErrorCode::SerializationException, format!("The request body is not valid JSON: {e}"))
        })?;
        if !value.is_object() {
            return Err(ApiError::new(
                ErrorCode::SerializationException,
                "Start of structure or map found where not expected.",
            ));
        }
        serde_json::from_value(value).map_err(|e| ApiError::new(ErrorCode::SerializationException, e.to_string()))
    }
}

/// A group function: the actions it serves (`Op`, generated from the catalogue) and how. Its
/// `dispatch` is one exhaustive `match` on `Op`, one named handler per action.
pub trait Dispatch: Sync {
    type Op: GroupOp;
    fn dispatch(&self, op: Self::Op, call: &Call) -> impl Future<Output = Result<serde_json::Value, ApiError>> + Send;
}

/// Proves who sent a request (SigV4 against the key store, or a local mode that trusts any
/// signature). Runs first: nothing else about a request is looked at before it answers.
pub trait Authenticate: Sync {
    fn authenticate(&self, req: &Request) -> impl Future<Output = Result<Identity, ApiError>> + Send;
    /// `sigv4` or `off`, for logs and banners.
    fn mode(&self) -> &'static str;
}

/// Where the pipeline records every call it served. Recording is part of the call: the response
/// waits for it, and a failure to record is our fault (5xx), never silently dropped.
pub trait AuditSink: Sync {
    fn record(
        &self,
        call: &Call,
        outcome: &Result<serde_json::Value, ApiError>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// Records nothing: for unit tests of the pipeline and for benchmarks' baselines.
pub struct NoAudit;

impl AuditSink for NoAudit {
    async fn record(&self, _: &Call, _: &Result<serde_json::Value, ApiError>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Authenticate → decode → call → record → encode. Never fails: every outcome is an HTTP
/// response.
///
/// Calls refused before they have an identity (a missing, malformed or invalid signature) or
/// before they name an action of this group are not recorded: there is no account, or no
/// action, to record them under.
pub async fn handle<D: Dispatch, Au: Authenticate, A: AuditSink>(
    group: &D,
    auth: &Au,
    audit: &A,
    req: Request,
) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = match prepare::<D::Op, Au>(auth, &req, &request_id).await {
        Ok((op, call)) => {
            let outcome = group.dispatch(op, &call).await;
            log_error(&request_id, Some(call.action), &outcome);
            match audit.record(&call, &outcome).await {
                Ok(()) => outcome,
                Err(e) => {
                    log_error(&request_id, Some(call.action), &Err(e.clone()));
                    Err(e)
                }
            }
        }
        Err(e) => {
            log_error(&request_id, None, &Err(e.clone()));
            Err(e)
        }
    };
    encode(&request_id, result)
}

/// The one place an error is logged: our faults with their detail (never sent to the client),
/// the caller's mistakes briefly.
pub fn log_error(request_id: &str, action: Option<Action>, outcome: &Result<serde_json::Value, ApiError>) {
    let Err(e) = outcome else { return };
    let action = action.map(Action::name).unwrap_or("-");
    match e.detail() {
        Some(detail) => tracing::error!(action, code = %e.code, request_id, detail, "internal error"),
        None => tracing::info!(action, code = %e.code, request_id, "client error"),
    }
}

/// Serves a group as a Lambda function behind API Gateway (or `cargo lambda watch`).
pub async fn run<D: Dispatch + 'static, Au: Authenticate + 'static, A: AuditSink + 'static>(
    group: D,
    auth: Au,
    audit: A,
) -> Result<(), lambda_http::Error> {
    tracing::info!(auth = auth.mode(), "serving");
    // Built once per cold start and kept for the life of the instance.
    let group: &'static D = Box::leak(Box::new(group));
    let auth: &'static Au = Box::leak(Box::new(auth));
    let audit: &'static A = Box::leak(Box::new(audit));
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(handle(group, auth, audit, req).await)
    }))
    .await
}

async fn prepare<Op: GroupOp, Au: Authenticate>(
    auth: &Au,
    req: &Request,
    request_id: &str,
) -> Result<(Op, Call), ApiError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // Before anything else: who is asking.
    let identity = auth.authenticate(req).await?;
    if !is_json_content_type(header("content-type")) {
        return Err(ApiError::unsupported_content_type());
    }
    let op = match Target::parse(header("x-amz-target")) {
        Target::Known(a) => Op::try_from(a).map_err(|a| {
            ApiError::new(
                ErrorCode::UnknownOperationException,
                format!("The {} function does not serve {a}.", Op::GROUP.bin_name()),
            )
        })?,
        Target::Unknown(t) => return Err(unknown_operation(&t)),
    };
    let call = Call {
        action: op.into(),
        identity,
        request_id: request_id.to_owned(),
        source_ip: source_ip(req),
        user_agent: header("user-agent").map(str::to_owned),
        invocation_id: header("amz-sdk-invocation-id").filter(|v| !v.is_empty() && v.len() <= 128).map(str::to_owned),
        body: req.body().as_ref().to_vec(),
    };
    Ok((op, call))
}

/// Whether a `Content-Type` is one the JSON protocol reads: `application/x-amz-json-1.1` (what
/// every SDK sends), or plain `application/json`, with any parameters.
pub fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(v) = value else { return false };
    let media = v.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/x-amz-json-1.1") || media.eq_ignore_ascii_case("application/json")
}

/// The error for a target no function serves.
pub fn unknown_operation(target: &str) -> ApiError {
    let message = if target.is_empty() {
        "Missing X-Amz-Target header.".to_owned()
    } else {
        format!("Operation {target} is not supported.")
    };
    ApiError::new(ErrorCode::UnknownOperationException, message)
}

fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(c)) => c.identity.source_ip.clone(),
        _ => None,
    }
    .or_else(|| {
        let xff = req.headers().get("x-forwarded-for")?.to_str().ok()?;
        xff.split(',').next().map(|s| s.trim().to_owned())
    })
}

pub fn encode(request_id: &str, result: Result<serde_json::Value, ApiError>) -> Response<Body> {
    let (status, body, content_type) = match result {
        Ok(serde_json::Value::Null) => (200, Body::Empty, CONTENT_TYPE),
        Ok(v) => (200, Body::Text(v.to_string()), CONTENT_TYPE),
        Err(e) => (e.status(), Body::Text(e.to_body()), e.content_type()),
    };
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(REQUEST_ID_HEADER, request_id)
        .body(body)
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ops;

    struct Echo;

    /// Trusts a signature's key as the account (a 12-digit key, as the tests send), refuses
    /// unsigned calls: enough to test the pipeline's order of things.
    struct KeyIsAccount;

    impl Authenticate for KeyIsAccount {
        async fn authenticate(&self, req: &Request) -> Result<Identity, ApiError> {
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
            let key = auth.and_then(|a| a.split("Credential=").nth(1)).and_then(|c| c.split('/').next());
            match key {
                Some(k) => Ok(Identity {
                    account_id: k.into(),
                    region: "us-east-1".into(),
                    access_key_id: Some(k.into()),
                    user_name: None,
                }),
                None => {
                    Err(ApiError::new(ErrorCode::MissingAuthenticationTokenException, "Missing Authentication Token"))
                }
            }
        }
        fn mode(&self) -> &'static str {
            "test"
        }
    }

    impl Dispatch for Echo {
        type Op = ops::LogGroups;
        async fn dispatch(&self, _: ops::LogGroups, call: &Call) -> Result<serde_json::Value, ApiError> {
            let v: serde_json::Value = call.decode()?;
            Ok(serde_json::json!({ "action": call.action.name(), "account": call.identity.account_id, "body": v }))
        }
    }

    fn request(target: Option<&str>, body: &str, signed: bool) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/").header("content-type", CONTENT_TYPE);
        if let Some(t) = target {
            b = b.header("x-amz-target", t);
        }
        if signed {
            b = b.header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=111122223333/20261120/us-east-1/logs/aws4_request, \
                 SignedHeaders=host, Signature=00",
            );
        }
        b.body(Body::Text(body.to_owned())).unwrap()
    }

    async fn run(target: Option<&str>, body: &str, signed: bool) -> (u16, serde_json::Value) {
        let resp = handle(&Echo, &KeyIsAccount, &NoAudit, request(target, body, signed)).await;
        assert!(resp.headers().get(REQUEST_ID_HEADER).is_some(), "every response has a request id");
        let status = resp.status().as_u16();
        let v = serde_json::from_slice(resp.body().as_ref()).unwrap_or(serde_json::Value::Null);
        (status, v)
    }

    /// Remembers what it recorded, or fails when told to.
    struct Recorder {
        fail: bool,
        seen: std::sync::Mutex<Vec<(Action, bool)>>,
    }

    impl AuditSink for Recorder {
        async fn record(&self, call: &Call, outcome: &Result<serde_json::Value, ApiError>) -> Result<(), ApiError> {
            self.seen.lock().unwrap().push((call.action, outcome.is_ok()));
            if self.fail { Err(ApiError::internal("audit store down")) } else { Ok(()) }
        }
    }

    #[tokio::test]
    async fn every_served_call_is_recorded_before_the_response() {
        let ok = Recorder { fail: false, seen: Default::default() };
        let t = Some("Logs_20140328.CreateLogGroup");
        for body in ["{}", "not json"] {
            let resp = handle(&Echo, &KeyIsAccount, &ok, request(t, body, true)).await;
            assert!(resp.status().as_u16() < 500);
        }
        // Refused before an identity exists: nothing to record it under.
        handle(&Echo, &KeyIsAccount, &ok, request(t, "{}", false)).await;
        assert_eq!(*ok.seen.lock().unwrap(), [(Action::CreateLogGroup, true), (Action::CreateLogGroup, false)]);

        let broken = Recorder { fail: true, seen: Default::default() };
        let resp = handle(&Echo, &KeyIsAccount, &broken, request(t, "{}", true)).await;
        assert_eq!(resp.status().as_u16(), 500, "an unrecorded call is our fault, never silent");
    }

    #[test]
    fn json_content_types() {
        for (v, ok) in [
            (Some("application/x-amz-json-1.1"), true),
            (Some("application/x-amz-json-1.1; charset=utf-8"), true),
            (Some("Application/JSON"), true),
            (Some("application/x-www-form-urlencoded"), false),
            (Some("text/plain"), false),
            (Some(""), false),
            (None, false),
        ] {
            assert_eq!(is_json_content_type(v), ok, "{v:?}");
        }
        let e = ApiError::unsupported_content_type();
        assert_eq!(
            (e.status(), e.to_body().as_str(), e.content_type()),
            (404, "<UnknownOperationException/>", "application/xml")
        );
    }

    #[tokio::test]
    async fn pipeline_outcomes() {
        let t = Some("Logs_20140328.CreateLogGroup");
        let cases: &[(Option<&str>, &str, bool, u16, &str)] = &[
            (t, r#"{"logGroupName":"a"}"#, true, 200, ""),
            (t, "", true, 200, ""),
            (t, "not json", true, 400, "SerializationException"),
            (t, "[1,2]", true, 400, "SerializationException"),
            (t, "{}", false, 400, "MissingAuthenticationTokenException"),
            (Some("Logs_20140328.Nope"), "{}", true, 400, "UnknownOperationException"),
            (None, "{}", true, 400, "UnknownOperationException"),
            // Served by another group: this function refuses it.
            (Some("Logs_20140328.CreateLogStream"), "{}", true, 400, "UnknownOperationException"),
        ];
        for (target, body, signed, status, code) in cases {
            let (s, v) = run(*target, body, *signed).await;
            assert_eq!(s, *status, "{target:?} {body:?}");
            if code.is_empty() {
                assert_eq!(v["account"], "111122223333");
            } else {
                assert_eq!(v["__type"], *code, "{target:?} {body:?}");
                assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
            }
        }
    }
}
