//! The local stand-in for API Gateway in front of `cargo lambda watch` (`scripts/serve`).
//!
//! watch's own HTTP front end (its "function URL" path) answers the function's response POST
//! before reading its body, then waits for the body's end on that connection; when the function's
//! runtime sends its next request on a new connection, a response over ~16 KB stalls until the
//! client times out, or becomes a 500 (cargo-lambda 1.9.2). Its Invoke API reads bodies whole and
//! is unaffected. So, like API Gateway, this turns each HTTP request into an HTTP API (v2) event,
//! invokes the function through the Invoke API, and turns the function's answer back into HTTP.
//!
//! Routes are those of `template.yaml`: `POST /` → router, `POST /{group}` (with or without a
//! trailing slash) → that group's function, `GET /console` and `GET /console/…` → the console. Anything else is API Gateway's 404, Lambda's own Invoke
//! API included: it stays on watch's port, never on Logbook's.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use logbook_protocol::Group;
use serde_json::{Map, Value, json};

type Upstream = Client<HttpConnector, Full<Bytes>>;

struct Gateway {
    upstream: String,
    client: Upstream,
}

/// The function serving `method path`, as `template.yaml` routes it.
fn function_for(method: &Method, path: &str) -> Option<&'static str> {
    if method == Method::GET {
        return (path == "/console" || path.starts_with("/console/")).then_some("console");
    }
    if method != Method::POST {
        return None;
    }
    if path == "/" {
        return Some("router");
    }
    let name = path.strip_prefix('/')?;
    let name = name.strip_suffix('/').unwrap_or(name);
    Group::from_bin_name(name).map(Group::bin_name)
}

fn reply(status: StatusCode, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Full::new(body.into())).unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// The largest request body whose event fits Lambda's 6 MB invocation payload.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// API Gateway's own answers when there is no route, the request is too large, or the function
/// failed.
fn gateway_error(status: StatusCode) -> Response<Full<Bytes>> {
    let message = match status {
        StatusCode::NOT_FOUND => "Not Found",
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        StatusCode::BAD_REQUEST => "Bad Request",
        _ => "Internal Server Error",
    };
    reply(status, &[("content-type", "application/json")], json!({ "message": message }).to_string())
}

/// An HTTP API payload 2.0 event, as API Gateway sends it.
fn event(method: &Method, uri: &http::Uri, headers: &HeaderMap, body: &[u8], peer: SocketAddr) -> Value {
    let mut h = Map::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        h.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": uri.query().unwrap_or_default(),
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": header("host"),
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": header("user-agent"),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": now,
        },
        "body": B64.encode(body),
        "isBase64Encoded": true,
    })
}

/// The function's API Gateway response object as HTTP; `None` when it is not one.
fn response(v: &Value) -> Option<Response<Full<Bytes>>> {
    let status = StatusCode::from_u16(u16::try_from(v.get("statusCode")?.as_u64()?).ok()?).ok()?;
    let mut r = Response::builder().status(status);
    if let Some(h) = v.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                r = r.header(k, v);
            }
        }
    }
    if let Some(h) = v.get("multiValueHeaders").and_then(Value::as_object) {
        for (k, vs) in h {
            for v in vs.as_array().into_iter().flatten().filter_map(Value::as_str) {
                r = r.header(k, v);
            }
        }
    }
    for c in v.get("cookies").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        r = r.header("set-cookie", c);
    }
    let body = v.get("body").and_then(Value::as_str).unwrap_or_default();
    let body = if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        Bytes::from(B64.decode(body).ok()?)
    } else {
        Bytes::copy_from_slice(body.as_bytes())
    };
    r.body(Full::new(body)).ok()
}

impl Gateway {
    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return gateway_error(StatusCode::BAD_REQUEST);
        };
        // Lambda takes at most 6 MB of event, and the body travels base64-encoded in it.
        if body.len() > MAX_BODY {
            return gateway_error(StatusCode::PAYLOAD_TOO_LARGE);
        }
        let Some(function) = function_for(&parts.method, parts.uri.path()) else {
            return gateway_error(StatusCode::NOT_FOUND);
        };
        let event = event(&parts.method, &parts.uri, &parts.headers, &body, peer);
        let uri = format!("{}/2015-03-31/functions/{function}/invocations", self.upstream);
        let invoke = Request::post(uri)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(event.to_string())));
        let Ok(invoke) = invoke else { return gateway_error(StatusCode::INTERNAL_SERVER_ERROR) };
        let answer = match self.client.request(invoke).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("local-gateway: invoking {function}: {e}");
                return gateway_error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        let failed = answer.headers().contains_key("x-amz-function-error") || !answer.status().is_success();
        let bytes = answer.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let parsed = serde_json::from_slice::<Value>(&bytes).ok().filter(|_| !failed);
        match parsed.as_ref().and_then(response) {
            Some(r) => r,
            None => {
                eprintln!("local-gateway: {function} failed: {}", String::from_utf8_lossy(&bytes));
                gateway_error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// The paths and calls that start every function: `POST /` (the router, and behind it the
/// first group) and each group's own path, each with one of the group's read-only actions. The
/// calls are unsigned, so they touch no data in any mode: the answer (a 4xx) proves the function
/// was built and ran. From the catalogue, so a new group is warmed up without a change here.
fn warm_up_calls() -> Vec<(String, String)> {
    let probe = |g: Group| {
        let actions = g.actions();
        actions.iter().copied().find(|a| a.is_read_only()).unwrap_or(actions[0]).target()
    };
    let mut calls = vec![("/".to_owned(), probe(Group::ALL[0]))];
    calls.extend(Group::ALL.iter().map(|g| (format!("/{}", g.bin_name()), probe(*g))));
    calls
}

/// Waits until every function answers (see [`warm_up_calls`]), at most `timeout`.
async fn warm_up(endpoint: &str, timeout: std::time::Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let client: Upstream = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    for (path, target) in warm_up_calls() {
        loop {
            let req = Request::post(format!("{endpoint}{path}"))
                .header("x-amz-target", &target)
                .header("content-type", "application/x-amz-json-1.1")
                .body(Full::new(Bytes::from_static(b"{}")))
                .map_err(|e| e.to_string())?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, client.request(req)).await {
                Ok(Ok(answer)) if answer.status().as_u16() < 500 => break,
                Ok(_) => {}
                Err(_) => return Err(format!("{path} ({target}) did not answer in time")),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("{path} ({target}) did not answer in time"));
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        eprintln!("{path} ready");
    }
    // The console's page (GET).
    loop {
        let req =
            Request::get(format!("{endpoint}/console")).body(Full::new(Bytes::new())).map_err(|e| e.to_string())?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, client.request(req)).await {
            Ok(Ok(answer)) if answer.status().is_success() => break,
            Ok(_) => {}
            Err(_) => return Err("/console did not answer in time".into()),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("/console did not answer in time".into());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    eprintln!("/console ready");
    Ok(())
}

/// usage: local-gateway LISTEN_ADDR UPSTREAM_URL (e.g. 127.0.0.1:9000 http://127.0.0.1:9001)
///        local-gateway warm-up ENDPOINT [TIMEOUT_SECONDS]
#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, endpoint, rest @ ..] = args.as_slice()
        && cmd == "warm-up"
    {
        let secs = rest.first().and_then(|s| s.parse().ok()).unwrap_or(900);
        if let Err(e) = warm_up(endpoint.trim_end_matches('/'), std::time::Duration::from_secs(secs)).await {
            eprintln!("local-gateway: {e}");
            std::process::exit(1);
        }
        return;
    }
    let [listen, upstream] = args.as_slice() else {
        eprintln!("usage: local-gateway LISTEN_ADDR UPSTREAM_URL (cargo lambda watch's Invoke API)");
        eprintln!("       local-gateway warm-up ENDPOINT [TIMEOUT_SECONDS]");
        std::process::exit(2);
    };
    let listener = match tokio::net::TcpListener::bind(listen.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("local-gateway: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    // Without TCP_NODELAY a request's body segment can wait for the ACK of its head (Nagle
    // against delayed ACKs): ~10 ms per hop, measured.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let upstream = upstream.trim_end_matches('/').to_owned();
    let gateway: &'static Gateway = Box::leak(Box::new(Gateway { upstream, client }));
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |req| async move { Ok::<_, Infallible>(gateway.handle(req, peer).await) });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_template() {
        let cases = [
            ("/", Some("router")),
            ("/log-events", Some("log-events")),
            ("/log-events/", Some("log-events")),
            ("/lookup", Some("lookup")),
            ("/trails/", Some("trails")),
            ("/log-events/x", None),
            ("/router", None),
            ("/nope", None),
            ("/2015-03-31/functions/router/invocations", None),
            ("//", None),
        ];
        for (path, want) in cases {
            assert_eq!(function_for(&Method::POST, path), want, "POST {path}");
        }
        let gets = [
            ("/console", Some("console")),
            ("/console/app.js", Some("console")),
            ("/console/vendor/aws4fetch.esm.mjs", Some("console")),
            ("/consoles", None),
            ("/", None),
            ("/log-events", None),
        ];
        for (path, want) in gets {
            assert_eq!(function_for(&Method::GET, path), want, "GET {path}");
        }
        assert_eq!(function_for(&Method::PUT, "/console"), None);
        assert_eq!(function_for(&Method::DELETE, "/"), None);
    }

    #[test]
    fn warm_up_reaches_every_function() {
        let calls = warm_up_calls();
        assert_eq!(calls[0].0, "/");
        for g in Group::ALL {
            let (_, target) = calls.iter().find(|(p, _)| *p == format!("/{}", g.bin_name())).expect("warmed");
            match logbook_protocol::Target::parse(Some(target)) {
                logbook_protocol::Target::Known(a) => assert_eq!(a.group(), Some(*g)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn function_answers_become_http() {
        let v = json!({"statusCode": 400, "headers": {"content-type": "application/x-amz-json-1.1"},
                       "multiValueHeaders": {"x-a": ["1", "2"]}, "cookies": [],
                       "body": B64.encode(b"{\"__type\":\"X\"}"), "isBase64Encoded": true});
        let r = response(&v).unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers().get_all("x-a").iter().count(), 2);
        let plain = response(&json!({"statusCode": 200, "body": "{}"})).unwrap();
        assert_eq!(plain.status(), 200);
        assert!(response(&json!({"errorMessage": "boom"})).is_none(), "a function error is no response");
    }
}
