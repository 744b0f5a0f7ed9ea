//! Reads cost what they return. A stream fed as shippers feed it (many small batches) holds
//! 10 / 100 / 1,000 / 10,000 chunks in the last hour; the same reads on each: GetLogEvents'
//! newest page (what `aws logs get-log-events` and every tail tool call first), its head page,
//! and FilterLogEvents over the last 2 seconds and the last minute. Latency (p50 of 15, in-process
//! through the real pipeline) and read units per call (DynamoDB's consumed capacity, every call
//! the read makes), against DynamoDB Local.
//!
//! Then a busy stream: 16 writers of 20-event batches at once for READS_BENCH_BUSY_SECS (60),
//! read from head to tail in pages of 1,000: the latency of pages along the way.
//!
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8765 cargo bench -p logbook-tests --bench reads
//! (READS_BENCH_CHUNKS=10,100,1000,10000; READS_BENCH_N=15; READS_BENCH_BUSY_SECS=60)

use std::sync::Arc;
use std::time::{Duration, Instant};

use logbook_auth::{Auth, KeySource, Mode};
use logbook_model::TokenCodec;
use logbook_protocol::pipeline::{NoAudit, handle};
use logbook_storage::Meter;
use logbook_tests::{lambda_request as request, new_account, store};
use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;
const PER_BATCH: usize = 20;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn call(events: &logbook_log_events::LogEvents, account: &str, target: &str, body: Value) -> (Duration, Value) {
    let auth = Auth::new(Mode::Off, KeySource::Chain(Vec::new()));
    let req = request(account, target, body.to_string());
    let t = Instant::now();
    let resp = match target {
        "Logs_20140328.CreateLogGroup" => {
            let groups = logbook_log_groups::LogGroups { store: store(), tokens: TokenCodec::new(b"bench") };
            handle(&groups, &auth, &NoAudit, req).await
        }
        "Logs_20140328.CreateLogStream" => {
            let streams = logbook_log_streams::LogStreams { store: store(), tokens: TokenCodec::new(b"bench") };
            handle(&streams, &auth, &NoAudit, req).await
        }
        _ => handle(events, &auth, &NoAudit, req).await,
    };
    let d = t.elapsed();
    let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
    assert!(resp.status().is_success(), "{v}");
    (d, v)
}

/// `chunks` PutLogEvents of 20 events each, spread evenly over the last hour (8 writers at once).
async fn fill(events: &Arc<logbook_log_events::LogEvents>, account: &str, chunks: usize, end: i64) {
    let step = HOUR / chunks as i64;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..8 {
        let events = events.clone();
        let account = account.to_owned();
        set.spawn(async move {
            for k in (w..chunks).step_by(8) {
                let start = end - HOUR + k as i64 * step;
                let batch: Vec<Value> = (0..PER_BATCH)
                    .map(|i| json!({ "timestamp": start + i as i64, "message": format!("chunk {k} event {i} GET /items status=200") }))
                    .collect();
                let body = json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": batch });
                call(&events, &account, "Logs_20140328.PutLogEvents", body).await;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// 16 writers at once for `secs`, then every page from head to tail.
async fn busy(events: &Arc<logbook_log_events::LogEvents>, secs: u64) {
    let account = new_account();
    for (target, body) in [
        ("Logs_20140328.CreateLogGroup", json!({ "logGroupName": "g" })),
        ("Logs_20140328.CreateLogStream", json!({ "logGroupName": "g", "logStreamName": "s" })),
    ] {
        call(events, &account, target, body).await;
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..16 {
        let events = events.clone();
        let account = account.clone();
        set.spawn(async move {
            let mut n = 0;
            while Instant::now() < deadline {
                let now = now_ms();
                let batch: Vec<Value> =
                    (0..PER_BATCH).map(|i| json!({ "timestamp": now, "message": format!("w{w} e{n} {i}") })).collect();
                call(
                    &events,
                    &account,
                    "Logs_20140328.PutLogEvents",
                    json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": batch }),
                )
                .await;
                n += 1;
            }
            n
        });
    }
    let mut batches = 0;
    while let Some(r) = set.join_next().await {
        batches += r.unwrap();
    }
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    let mut total = 0;
    loop {
        let mut body = json!({ "logGroupName": "g", "logStreamName": "s", "startFromHead": true, "limit": 1000 });
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let (d, v) = call(events, &account, "Logs_20140328.GetLogEvents", body).await;
        let got = v["events"].as_array().map_or(0, Vec::len);
        let next = v["nextForwardToken"].as_str().map(str::to_owned);
        if got == 0 {
            break;
        }
        total += got;
        pages.push(d.as_secs_f64() * 1e3);
        token = next;
    }
    let q = |f: f64| pages[((pages.len() - 1) as f64 * f) as usize];
    let mut sorted = pages.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "\nBusy stream: {batches} batches from 16 writers in {secs} s ({} chunks); read head to tail, {} pages of up to 1,000 ({total} events): \
         first page {:.1} ms, quarter {:.1}, half {:.1}, three quarters {:.1}, last {:.1}; p50 {:.1} ms, max {:.1} ms",
        batches,
        pages.len(),
        q(0.0),
        q(0.25),
        q(0.5),
        q(0.75),
        q(1.0),
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
    );
}

fn p50(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("READS_BENCH_CHUNKS")
        .unwrap_or_else(|_| "10,100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let n: usize = std::env::var("READS_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let meter = Arc::new(Meter::default());
    let events = Arc::new(logbook_log_events::LogEvents {
        store: store().with_meter(meter.clone()),
        tokens: TokenCodec::new(b"bench"),
    });
    println!("## Reads by chunks in the preceding hour (one stream, 20-event chunks)\n");
    println!("| chunks in the hour | read | n | p50 latency | RRU per call | events returned |");
    println!("|---|---|---|---|---|---|");
    for chunks in sizes {
        let account = new_account();
        for (target, body) in [
            ("Logs_20140328.CreateLogGroup", json!({ "logGroupName": "g" })),
            ("Logs_20140328.CreateLogStream", json!({ "logGroupName": "g", "logStreamName": "s" })),
        ] {
            call(&events, &account, target, body).await;
        }
        let end = now_ms() - 5_000;
        let t = Instant::now();
        fill(&events, &account, chunks, end).await;
        eprintln!("{chunks} chunks written in {:.1?}", t.elapsed());
        let reads: [(&str, &str, Value); 4] = [
            (
                "GetLogEvents, newest page (limit 100)",
                "Logs_20140328.GetLogEvents",
                json!({ "logGroupName": "g", "logStreamName": "s", "limit": 100 }),
            ),
            (
                "GetLogEvents, head page (limit 100)",
                "Logs_20140328.GetLogEvents",
                json!({ "logGroupName": "g", "logStreamName": "s", "limit": 100, "startFromHead": true }),
            ),
            (
                "FilterLogEvents, last 2 s",
                "Logs_20140328.FilterLogEvents",
                json!({ "logGroupName": "g", "startTime": end + PER_BATCH as i64 - 2_000, "endTime": end + PER_BATCH as i64 }),
            ),
            (
                "FilterLogEvents, last minute",
                "Logs_20140328.FilterLogEvents",
                json!({ "logGroupName": "g", "startTime": end + PER_BATCH as i64 - 60_000, "endTime": end + PER_BATCH as i64 }),
            ),
        ];
        for (name, target, body) in reads {
            // Warm once (not measured), then n calls.
            call(&events, &account, target, body.clone()).await;
            let mut times = Vec::with_capacity(n);
            let mut returned = 0;
            meter.reset();
            for _ in 0..n {
                let (d, v) = call(&events, &account, target, body.clone()).await;
                times.push(d);
                returned = v["events"].as_array().map_or(0, Vec::len);
            }
            let rru = meter.read_units() / n as f64;
            println!("| {chunks} | {name} | {n} | {:.1} ms | {rru:.1} | {returned} |", p50(times));
        }
    }
    let secs: u64 = std::env::var("READS_BENCH_BUSY_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    if secs > 0 {
        busy(&events, secs).await;
    }
}
