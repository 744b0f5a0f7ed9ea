//! Test support: the group functions served in-process behind a real HTTP listener, backed by the
//! DynamoDB Local that `scripts/test` starts, and real AWS SDK clients pointed at it.
//!
//! The in-process gateway does what the router function does (target → group) and then runs each
//! group's real pipeline; only the Lambda hop is skipped. The end-to-end test under `tests/e2e`
//! covers that hop through `scripts/serve`.

use std::io::{Read, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use logbook_auth::{Auth, KeyRecord, KeySource, Mode, Secret};
use logbook_model::TokenCodec;
use logbook_protocol::pipeline::{encode, handle, unknown_operation};
use logbook_protocol::{Group, Target};
use logbook_storage::Store;
use logbook_storage::audit::AuditLog;

pub use aws_sdk_cloudwatchlogs as logs;

pub mod bench;
pub mod export;
pub mod faults;
pub mod policy;

/// The DynamoDB Local endpoint `scripts/test` started.
pub fn dynamodb_endpoint() -> String {
    std::env::var("LOGBOOK_TEST_DYNAMODB").unwrap_or_else(|_| "http://127.0.0.1:8000".to_owned())
}

fn dynamodb_config() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(dynamodb_endpoint())
}

pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config().build())
}

/// The local S3-compatible server (moto) `scripts/test` started, for CreateTrail's bucket check.
pub fn s3_endpoint() -> String {
    std::env::var("LOGBOOK_TEST_S3").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

/// The SDK configuration of the local AWS services (moto: Kinesis, Firehose, STS, S3 on one
/// port), as the functions see them under `scripts/serve`.
pub fn aws_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("local", "local", None, None, "test"),
        ))
        .endpoint_url(s3_endpoint())
        .build()
}

/// Delivery targets on the local AWS services; Lambda targets at `lambda` (an Invoke API).
pub fn targets(lambda: Option<String>) -> logbook_delivery::Targets {
    logbook_delivery::Targets::new(aws_config(), None, lambda)
}

/// SNS on the local AWS services.
pub fn sns() -> logbook_delivery::sns::Sns {
    logbook_delivery::sns::Sns::at(&aws_config(), Some(s3_endpoint()))
}

pub fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(s3_endpoint())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn table_name() -> String {
    std::env::var("LOGBOOK_TABLE").unwrap_or_else(|_| "logbook".to_owned())
}

/// A store with every permission, for tests that set up or inspect the table.
pub fn store() -> Store {
    Store::new(dynamodb(), table_name())
}

/// The store a deployed function would have: every DynamoDB call it makes is checked against
/// its policy in `template.yaml`, and refused (the call fails) when the policy does not allow it.
pub fn store_for(binary: &str) -> Store {
    store_at(&dynamodb_endpoint(), binary)
}

/// [`store_for`], on the DynamoDB at `endpoint` (a fault-injecting proxy, say).
pub fn store_at(endpoint: &str, binary: &str) -> Store {
    let client = aws_sdk_dynamodb::Client::from_conf(
        dynamodb_config().endpoint_url(endpoint).interceptor(policy::PolicyCheck::for_function(binary)).build(),
    );
    Store::new(client, table_name())
}

/// A group function served in-process, with the audit sink its pipeline writes through (on the
/// same checked store, as deployed).
struct Served<D> {
    group: D,
    audit: AuditLog,
}

impl<D> Served<D> {
    fn new(store: Store, make: impl FnOnce(Store) -> D) -> Served<D> {
        Served { audit: AuditLog::new(store.clone()), group: make(store) }
    }
}

struct Groups {
    log_groups: Served<logbook_log_groups::LogGroups>,
    log_streams: Served<logbook_log_streams::LogStreams>,
    log_events: Served<logbook_log_events::LogEvents>,
    metric_filters: Served<logbook_metric_filters::MetricFilters>,
    trails: Served<logbook_trails::Trails>,
    lookup: Served<logbook_lookup::Lookup>,
    subscriptions: Served<logbook_subscriptions::Subscriptions>,
    exports: Served<logbook_exports::Exports>,
    auth: Auth,
}

/// The secret of every key the tests use.
pub const SECRET: &str = "secret";

/// Named test keys: (key, account, user). Used by tests/audit.rs (two writers and a reader in
/// one account) and the identity tests.
pub const NAMED_KEYS: &[(&str, &str, &str)] = &[
    ("AKIDALICE", "444455556666", "alice"),
    ("AKIDAUDITA", "555566667777", "ann"),
    ("AKIDAUDITB", "555566667777", "ben"),
    ("AKIDAUDITR", "555566667777", "reader"),
];

/// The test key store: every test gets a fresh account (see [`new_account`]) whose access key is
/// the account id itself, with the secret [`SECRET`]; plus the [`NAMED_KEYS`]. Signatures are
/// verified for real (`sigv4` mode): only the store is made up.
pub fn test_keys() -> KeySource {
    KeySource::Custom(std::sync::Arc::new(|key: &str| {
        let named =
            NAMED_KEYS.iter().find(|(k, ..)| *k == key).map(|(_, a, u)| ((*a).to_owned(), Some((*u).to_owned())));
        let (account_id, user_name) = match named {
            Some(n) => n,
            None if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) => (key.to_owned(), None),
            None => return None,
        };
        Some(KeyRecord {
            access_key_id: key.to_owned(),
            secret_access_key: Secret::new(SECRET),
            account_id,
            user_name,
            enabled: true,
            created: 0,
        })
    }))
}

async fn serve(
    groups: &'static Groups,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let body = if bytes.is_empty() { lambda_http::Body::Empty } else { lambda_http::Body::Binary(bytes.to_vec()) };
    let req = lambda_http::Request::from_parts(parts, body);
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ids = &groups.auth;
    // Exhaustive over the catalogue's groups: a new group does not compile until it is served here.
    let resp = match Target::parse(target.as_deref()) {
        Target::Known(a) => match a.group() {
            Some(g) => match g {
                Group::LogGroups => handle(&groups.log_groups.group, ids, &groups.log_groups.audit, req).await,
                Group::LogStreams => handle(&groups.log_streams.group, ids, &groups.log_streams.audit, req).await,
                Group::LogEvents => handle(&groups.log_events.group, ids, &groups.log_events.audit, req).await,
                Group::MetricFilters => {
                    handle(&groups.metric_filters.group, ids, &groups.metric_filters.audit, req).await
                }
                Group::Trails => handle(&groups.trails.group, ids, &groups.trails.audit, req).await,
                Group::Lookup => handle(&groups.lookup.group, ids, &groups.lookup.audit, req).await,
                Group::Subscriptions => {
                    handle(&groups.subscriptions.group, ids, &groups.subscriptions.audit, req).await
                }
                Group::Exports => handle(&groups.exports.group, ids, &groups.exports.audit, req).await,
            },
            None => encode("in-process", Err(unknown_operation(target.as_deref().unwrap_or("")))),
        },
        Target::Unknown(t) => encode("in-process", Err(unknown_operation(&t))),
    };
    if resp.status().is_server_error() {
        SERVER_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
    let (parts, body) = resp.into_parts();
    Ok(hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref()))))
}

/// Answers of 5xx the in-process gateways gave, all of them (the fault test counts the client
/// retries it caused).
pub static SERVER_ERRORS: AtomicU64 = AtomicU64::new(0);

/// The gateway's base URL; started once per test binary on its own runtime, so it outlives any
/// single test's runtime.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| start_gateway(dynamodb_endpoint()))
}

/// Serves every group function in-process behind a real HTTP listener, with stores on the
/// DynamoDB at `dynamodb` (each checked against its function's policy). Returns the base URL.
pub fn start_gateway(dynamodb: String) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let tokens = TokenCodec::new(b"test-token-key");
            let t = || tokens.clone();
            let at = |binary: &str| store_at(&dynamodb, binary);
            let groups: &'static Groups = Box::leak(Box::new(Groups {
                log_groups: Served::new(at("log-groups"), |store| logbook_log_groups::LogGroups { store, tokens: t() }),
                log_streams: Served::new(at("log-streams"), |store| logbook_log_streams::LogStreams {
                    store,
                    tokens: t(),
                }),
                log_events: Served::new(at("log-events"), |store| logbook_log_events::LogEvents { store, tokens: t() }),
                metric_filters: Served::new(at("metric-filters"), |store| logbook_metric_filters::MetricFilters {
                    store,
                    tokens: t(),
                }),
                trails: Served::new(at("trails"), |store| logbook_trails::Trails { store, s3: s3(), sns: sns() }),
                lookup: Served::new(at("lookup"), |store| logbook_lookup::Lookup { store, tokens: t() }),
                subscriptions: Served::new(at("subscriptions"), |store| logbook_subscriptions::Subscriptions {
                    store,
                    tokens: t(),
                    targets: targets(None),
                }),
                exports: Served::new(at("exports"), |store| logbook_exports::Exports { store, tokens: t(), s3: s3() }),
                auth: Auth::new(Mode::SigV4, test_keys()),
            }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| serve(groups, req));
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// A fresh 12-digit account id: the access key names the account, so every test is isolated.
pub fn new_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64;
    let v =
        (t.wrapping_mul(1_000_003) ^ (u64::from(std::process::id()) << 20)).wrapping_add(n * 7_919) % 900_000_000_000;
    format!("{:012}", 100_000_000_000 + v)
}

/// A CloudWatch Logs client whose access key is `access_key` (a 12-digit key names its account).
pub fn logs_client_for(access_key: &str, region: &str) -> logs::Client {
    logs_client_at(endpoint(), access_key, region)
}

/// [`logs_client_for`], against the gateway at `base`.
pub fn logs_client_at(base: &str, access_key: &str, region: &str) -> logs::Client {
    let conf = logs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(access_key, SECRET, None, None, "test"))
        .endpoint_url(base)
        .build();
    logs::Client::from_conf(conf)
}

/// A CloudTrail client whose access key is `access_key`.
pub fn trail_client_for(access_key: &str, region: &str) -> aws_sdk_cloudtrail::Client {
    let conf = aws_sdk_cloudtrail::Config::builder()
        .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudtrail::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_cloudtrail::config::Credentials::new(access_key, SECRET, None, None, "test"))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_cloudtrail::Client::from_conf(conf)
}

/// A client in a fresh account, and that account's id.
pub fn logs_client() -> (logs::Client, String) {
    let account = new_account();
    (logs_client_for(&account, "us-east-1"), account)
}

/// A raw HTTP exchange with the gateway, for what SDKs never send. Returns status and JSON body.
/// An `authorization` header made by [`sigv4`] is replaced by a real signature of this request;
/// `content-type` is AWS JSON 1.1 unless the caller sends one (`""` for none at all).
pub fn raw_post(path: &str, headers: &[(&str, &str)], body: &str) -> (u16, serde_json::Value, String) {
    let addr = endpoint().trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    let mut headers: Vec<(String, String)> = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    match headers.iter().position(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        None => headers.push(("content-type".into(), "application/x-amz-json-1.1".into())),
        Some(i) if headers[i].1.is_empty() => {
            headers.remove(i);
        }
        Some(_) => {}
    }
    if let Some(i) = headers.iter().position(|(k, v)| k.eq_ignore_ascii_case("authorization") && v.starts_with(SIGN_ME))
    {
        let (_, placeholder) = headers.remove(i);
        let mut parts = placeholder[SIGN_ME.len()..].split(' ');
        let (key, service) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or("logs").to_owned());
        let mut to_sign = headers.clone();
        to_sign.push(("host".into(), addr.clone()));
        headers.extend(sign_headers(&key, &service, "POST", path, &to_sign, body.as_bytes()));
    }
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null), head.to_owned())
}

const SIGN_ME: &str = "logbook-test-sign:";

/// An `authorization` header for [`raw_post`] to sign for real with `key` (and [`SECRET`]) for
/// `service`, once it knows the whole request.
pub fn sigv4(key: &str, service: &str) -> String {
    format!("{SIGN_ME}{key} {service}")
}

/// The `authorization` and `x-amz-date` headers that sign a request as an SDK would, with `key`
/// and [`SECRET`], in us-east-1, now. `headers` must include `host`.
pub fn sign_headers(
    key: &str,
    service: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = aws_credential_types::Credentials::new(key, SECRET, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        method,
        path,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// `(code, message)` of a failed SDK call; panics if the call succeeded.
pub fn err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    r: Result<T, logs::error::SdkError<E, R>>,
) -> (String, String) {
    let e = r.expect_err("expected an error");
    let code = e.code().unwrap_or_else(|| panic!("not a service error: {e:?}")).to_owned();
    (code, e.message().unwrap_or("").to_owned())
}

/// An API Gateway-shaped request as the pipeline receives it, signed for real with `key` (an
/// account id, in the test key store) and [`SECRET`].
pub fn lambda_request(key: &str, target: &str, body: String) -> lambda_http::Request {
    let service = if target.contains("CloudTrail") { "cloudtrail" } else { "logs" };
    let mut headers = vec![
        ("host".to_owned(), "logbook.test".to_owned()),
        ("x-amz-target".to_owned(), target.to_owned()),
        ("content-type".to_owned(), "application/x-amz-json-1.1".to_owned()),
    ];
    let signed = sign_headers(key, service, "POST", "/", &headers, body.as_bytes());
    headers.extend(signed);
    let mut b = http::Request::builder().method("POST").uri("/");
    for (k, v) in &headers {
        b = b.header(k, v);
    }
    b.body(lambda_http::Body::Text(body)).expect("static parts are valid")
}

/// A realistic access-log line of `len` bytes (event `i`); varied enough that compression is not
/// flattered. Shared by the benches.
pub fn access_line(i: u64, len: usize) -> String {
    let x = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    let status = [200, 200, 200, 201, 204, 301, 404, 500][(x >> 13) as usize % 8];
    let mut s = format!(
        "2026-11-20T12:{:02}:{:02}.{:03}Z INFO [req-{:016x}] {} /api/v1/items/{} status={status} latency_ms={} user=u{} bytes={} host=web-{}",
        (x >> 7) % 60,
        (x >> 11) % 60,
        x % 1000,
        x,
        ["GET", "POST", "PUT", "DELETE"][(x >> 17) as usize % 4],
        (x >> 19) % 100_000,
        (x >> 23) % 2_000,
        (x >> 29) % 50_000,
        (x >> 31) % 100_000,
        (x >> 37) % 32
    );
    while s.len() < len {
        s.push_str(" agent=Mozilla/5.0");
    }
    s.truncate(len);
    s
}

/// A web access log line (combined log format) as real servers write them: clients, paths and
/// agents drawn from pools with a skewed (Zipf-like) popularity, mostly 200s, sizes spread over
/// four orders of magnitude, times advancing. Less entropy than [`access_line`]: a second corpus
/// for what compression does on typical traffic, next to the pessimistic one.
pub fn web_line(i: u64) -> String {
    let mut x = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    let mut next = |n: u64| {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    // Zipf-like: the cube of a uniform draw favours small indices.
    let mut skewed = |n: u64| {
        let u = next(1 << 16) as f64 / 65_536.0;
        ((u * u * u) * n as f64) as u64
    };
    let client = skewed(2_000);
    let path = skewed(300);
    let agent = skewed(20);
    let status = [200, 200, 200, 200, 200, 200, 200, 304, 304, 404, 301, 500][next(12) as usize];
    let size = 10u64.pow(1 + next(4) as u32) + next(1_000);
    let secs = i / 20;
    const AGENTS: [&str; 4] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "curl/8.5.0",
    ];
    format!(
        "10.{}.{}.{} - - [21/Nov/2026:{:02}:{:02}:{:02} +0000] \"{} /shop/{}/item/{} HTTP/1.1\" {status} {size} \"https://example.com/shop/{}\" \"{} v{}\"",
        client / 250,
        (client / 10) % 25,
        client % 250,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        if path % 7 == 0 { "POST" } else { "GET" },
        path / 30,
        path,
        path / 30,
        AGENTS[(agent % 4) as usize],
        agent / 4,
    )
}

/// A feeder of the table's stream from now on, confined to `account` (as `scripts/serve` runs
/// one), for tests that drive the fan-out themselves.
pub async fn feeder(account: &str) -> logbook_local_streams::Feeder {
    let table = store().table().to_owned();
    logbook_local_streams::Feeder::new(
        &dynamodb_endpoint(),
        &table,
        None,
        logbook_local_streams::Start::Latest,
        Some(account.to_owned()),
    )
    .await
    .unwrap()
}

/// Feeds the fan-out until the stream has had nothing new for a moment.
pub async fn drain(feeder: &mut logbook_local_streams::Feeder, fanout: &logbook_fanout::Fanout) {
    let sink = |event: serde_json::Value| async move { Ok::<serde_json::Value, String>(fanout.handle(&event).await) };
    let mut quiet = 0;
    while quiet < 3 {
        if feeder.poll(&sink).await.unwrap() == 0 {
            quiet += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        } else {
            quiet = 0;
        }
    }
}
