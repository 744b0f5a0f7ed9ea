//! What the delivery and metrics benches share: calling a group in process, the ingest bench's
//! 16 writers, and the fan-out fed from the table's stream as under `scripts/serve`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lambda_http::Request;
use logbook_auth::{Auth, KeySource, Mode};
use logbook_fanout::Fanout;
use logbook_local_streams::{Feeder, Start};
use logbook_protocol::pipeline::{Dispatch, NoAudit, handle};
use serde_json::{Value, json};

use crate::{access_line, lambda_request};

/// One call through the pipeline (signatures unchecked), which must succeed.
pub async fn call<D: Dispatch>(group: &D, req: Request) -> Value {
    let resp = handle(group, &Auth::new(Mode::Off, KeySource::Chain(Vec::new())), &NoAudit, req).await;
    let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
    assert!(resp.status().is_success(), "{v}");
    v
}

/// The `p` quantile of sorted values.
pub fn percentile(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// The ingest bench's 16 writers (100 × ~200-byte batches, one stream `w{n}` each) into `group`
/// for `secs`: (events, bytes of message text, seconds taken).
pub async fn sixteen_writers(
    events: Arc<logbook_log_events::LogEvents>,
    account: &str,
    group: &'static str,
    secs: u64,
) -> (u64, f64, f64) {
    let put_count = Arc::new(AtomicU64::new(0));
    let raw_bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let stop = start + Duration::from_secs(secs);
    let mut writers = Vec::new();
    for w in 0..16u64 {
        let (events, put_count, raw_bytes, account) =
            (events.clone(), put_count.clone(), raw_bytes.clone(), account.to_owned());
        writers.push(tokio::spawn(async move {
            let mut b = 0u64;
            while Instant::now() < stop {
                let now = logbook_storage::now_millis();
                let batch: Vec<Value> = (0..100u64)
                    .map(|i| {
                        let text = access_line(w * 1_000_000 + b * 100 + i, 180);
                        json!({ "timestamp": now + (i / 10) as i64, "message": format!("t {w} {b} {i} {text}") })
                    })
                    .collect();
                let raw: usize = batch.iter().map(|e| e["message"].as_str().unwrap().len()).sum();
                let body = json!({ "logGroupName": group, "logStreamName": format!("w{w}"), "logEvents": batch });
                call(&*events, lambda_request(&account, "Logs_20140328.PutLogEvents", body.to_string())).await;
                put_count.fetch_add(100, Ordering::Relaxed);
                raw_bytes.fetch_add(raw as u64, Ordering::Relaxed);
                b += 1;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    (put_count.load(Ordering::Relaxed), raw_bytes.load(Ordering::Relaxed) as f64, start.elapsed().as_secs_f64())
}

/// What the fan-out did while fed: invocations, and microseconds busy.
#[derive(Default)]
pub struct FanoutUse {
    pub invocations: AtomicU64,
    pub busy_micros: AtomicU64,
}

impl FanoutUse {
    pub fn reset(&self) {
        self.invocations.store(0, Ordering::Relaxed);
        self.busy_micros.store(0, Ordering::Relaxed);
    }
}

/// Feeds `fanout` from the table's stream (the account's records, from now on) in the
/// background, as `scripts/serve` does, counting its invocations and busy time.
pub async fn feed_fanout(fanout: Arc<Fanout>, account: &str) -> Arc<FanoutUse> {
    let used = Arc::new(FanoutUse::default());
    let table = crate::store().table().to_owned();
    let mut feeder =
        Feeder::new(&crate::dynamodb_endpoint(), &table, None, Start::Latest, Some(account.to_owned())).await.unwrap();
    let counted = used.clone();
    tokio::spawn(async move {
        let sink = move |event: Value| {
            let (fanout, used) = (fanout.clone(), counted.clone());
            async move {
                let t = Instant::now();
                let out = fanout.handle(&event).await;
                used.invocations.fetch_add(1, Ordering::Relaxed);
                used.busy_micros.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                Ok::<Value, String>(out)
            }
        };
        feeder.run(sink, Duration::from_millis(20)).await;
    });
    used
}
