//! A proxy in front of DynamoDB Local that misbehaves on purpose, as DynamoDB and the network
//! sometimes do: it answers some requests with throttling errors or 500s without forwarding
//! them, and drops the connection of some writes *after* forwarding them (the write committed,
//! the caller never hears so). Rates are per request; the random draws come from a seed, so a
//! run can be repeated.

use std::convert::Infallible;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// How often each fault happens, per request (0.0 – 1.0).
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub throttle: f64,
    pub server_error: f64,
    /// Only for writes: forwarded, then the connection dropped before the answer.
    pub drop_after_write: f64,
}

/// What the proxy did, for the report.
#[derive(Debug, Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub dropped_after_write: AtomicU64,
}

impl Counts {
    pub fn summary(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} DynamoDB requests: {} throttled, {} answered 500, {} writes dropped after committing",
            get(&self.requests),
            get(&self.throttled),
            get(&self.server_errors),
            get(&self.dropped_after_write)
        )
    }
}

struct Proxy {
    upstream: String,
    rates: Rates,
    rng: Mutex<fastrand::Rng>,
    client: Client<HttpConnector, Full<Bytes>>,
    counts: &'static Counts,
    /// While set, every request is answered 503 without being forwarded: a service that is down.
    down: &'static std::sync::atomic::AtomicBool,
}

const WRITES: [&str; 5] = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];

fn answer(status: u16, kind: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message });
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static parts")
}

impl Proxy {
    /// `Ok(response)`, or `Err(())` to drop the connection.
    async fn handle(&self, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, ()> {
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Relaxed) {
            self.counts.server_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(answer(503, "ServiceUnavailableException", "Service unavailable (the test took it down)"));
        }
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(|_| ())?.to_bytes();
        let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let write = WRITES.iter().any(|w| target.ends_with(w));
        let (a, b, c) = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            (rng.f64(), rng.f64(), rng.f64())
        };
        if a < self.rates.throttle {
            self.counts.throttled.fetch_add(1, Ordering::Relaxed);
            return Ok(answer(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."));
        }
        if b < self.rates.server_error {
            self.counts.server_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(answer(500, "InternalServerError", "Internal server error"));
        }
        let mut forward = hyper::Request::builder().method(parts.method).uri(format!("{}{}", self.upstream, parts.uri));
        for (k, v) in &parts.headers {
            forward = forward.header(k, v);
        }
        let forward = forward.body(Full::new(body)).map_err(|_| ())?;
        let resp = self.client.request(forward).await.map_err(|_| ())?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|_| ())?.to_bytes();
        if write && parts.status.is_success() && c < self.rates.drop_after_write {
            self.counts.dropped_after_write.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        Ok(hyper::Response::from_parts(parts, Full::new(body)))
    }
}

/// Starts the proxy in front of `upstream` (DynamoDB Local); returns its URL and its counters.
pub fn start(upstream: String, rates: Rates, seed: u64) -> (String, &'static Counts) {
    let down: &'static std::sync::atomic::AtomicBool = Box::leak(Box::default());
    start_with(upstream, rates, seed, down)
}

/// A proxy that forwards everything to `upstream` until the returned switch is set, and answers
/// 503 to everything while it is: a target that is down for a while.
pub fn outage(upstream: String) -> (String, &'static Counts, &'static std::sync::atomic::AtomicBool) {
    let down: &'static std::sync::atomic::AtomicBool = Box::leak(Box::default());
    let none = Rates { throttle: 0.0, server_error: 0.0, drop_after_write: 0.0 };
    let (url, counts) = start_with(upstream, none, 0, down);
    (url, counts, down)
}

fn start_with(
    upstream: String,
    rates: Rates,
    seed: u64,
    down: &'static std::sync::atomic::AtomicBool,
) -> (String, &'static Counts) {
    let counts: &'static Counts = Box::leak(Box::default());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let proxy: &'static Proxy = Box::leak(Box::new(Proxy {
                upstream: upstream.trim_end_matches('/').to_owned(),
                rates,
                rng: Mutex::new(fastrand::Rng::with_seed(seed)),
                client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
                counts,
                down,
            }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(async move {
                    let io = TokioIo::new(stream);
                    // One connection, served request by request; a dropped write ends it.
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
                    let svc = hyper::service::service_fn(move |req| {
                        let tx = tx.clone();
                        async move {
                            match proxy.handle(req).await {
                                Ok(resp) => Ok::<_, Infallible>(resp),
                                Err(()) => {
                                    let _ = tx.try_send(());
                                    // Never answered: the connection is closed under it.
                                    std::future::pending().await
                                }
                            }
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = rx.recv() => {}
                    }
                });
            }
        });
    });
    let _ = counts.requests.load(Ordering::Relaxed);
    (format!("http://{}", rx.recv().unwrap()), counts)
}
