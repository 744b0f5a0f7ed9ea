//! Metric filters: how fast a group's filters evaluate events (CPU, one core), the latency from
//! PutLogEvents' answer to the datapoint in CloudWatch, and what publishing adds per GB. In
//! process: the real PutLogEvents pipeline on DynamoDB Local, the table's stream read by the same
//! feeder `scripts/serve` runs, the fan-out, the worker's publisher, and CloudWatch on the local
//! AWS services (moto), read back with GetMetricStatistics.
//!
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8765 LOGBOOK_TEST_S3=http://127.0.0.1:8766 \
//!   cargo bench -p logbook-tests --bench metrics
//! (METRICS_BENCH_N single-event puts for latency, default 40; METRICS_BENCH_SECS of 16 writers,
//! default 10)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use logbook_delivery::cloudwatch::CloudWatch;
use logbook_fanout::{Backoff, Fanout};
use logbook_maintenance::publish::{Published, Publisher};
use logbook_model::TokenCodec;
use logbook_model::datapoints::{Bucket, Evaluator, MINUTE_MS};
use logbook_model::metric::{MetricFilter, MetricTransformation};
use logbook_storage::Meter;
use logbook_tests::bench::{call, feed_fanout, percentile, sixteen_writers};
use logbook_tests::{access_line, lambda_request as request, new_account, store};
use serde_json::{Value, json};

const WRU_DOLLARS: f64 = 0.625 / 1e6;
const RRU_DOLLARS: f64 = 0.125 / 1e6;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;
/// PutMetricData: $0.01 per 1,000 requests.
const PUT_METRIC_DATA: f64 = 0.01 / 1e3;
/// Lambda on arm64: $0.20 per million requests, $0.0000133334 per GB-second.
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;

/// (name, pattern, value, dimension).
type Spec = (String, String, String, Option<(String, String)>);

fn ten_filters(ns: &str) -> Vec<Spec> {
    let f = |name: &str, pattern: &str, value: &str, dim: Option<(&str, &str)>| {
        (name.to_owned(), pattern.to_owned(), value.to_owned(), dim.map(|(k, v)| (k.to_owned(), v.to_owned())))
    };
    let _ = ns; // one namespace for all ten
    vec![
        f("e500", "status=500", "1", None),
        f("e404", "status=404", "1", None),
        f("gets", "GET", "1", None),
        f("posts", "POST /api", "1", None),
        f("slow", "%latency_ms=1[0-9]{3}%", "1", None),
        f("problems", "?ERROR ?WARN ?FATAL", "1", None),
        f("by-method", "[t, w, b, i, date, level, req, method, path, ...]", "1", Some(("Method", "$method"))),
        f("by-status", "[t, w, b, i, date, level, req, method, path, status, ...]", "1", Some(("Status", "$status"))),
        f("writer", "[t, w, b, i, date, level=INFO, ...]", "$w", None),
        f("json-latency", "{ $.latency > 100 }", "$.latency", None),
    ]
}

fn as_model(ns: &str) -> Vec<MetricFilter> {
    ten_filters(ns)
        .into_iter()
        .map(|(name, pattern, value, dim)| MetricFilter {
            filter_name: name.clone(),
            filter_pattern: pattern,
            metric_transformations: vec![MetricTransformation {
                metric_name: name,
                metric_namespace: ns.to_owned(),
                metric_value: value,
                default_value: None,
                unit: Some("Count".into()),
                dimensions: dim.map(|(k, v)| [(k, v)].into_iter().collect()),
            }],
            creation_time: 0,
            log_group_name: "g".into(),
        })
        .collect()
}

/// Events per second one core evaluates against `filters`.
fn evaluate_rate(filters: &[MetricFilter], events: &[(i64, i64, String)]) -> f64 {
    let e = Evaluator::new("gid", filters);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for chunk in events.chunks(1_000) {
            std::hint::black_box(e.delta(chunk.iter().map(|(ts, ing, m)| (*ts, *ing, m.as_str()))));
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    events.len() as f64 / best
}

/// The worker's publisher against the local CloudWatch, its table use metered.
fn publisher(meter: &Arc<Meter>) -> Publisher {
    Publisher {
        store: store().with_meter(meter.clone()),
        cloudwatch: CloudWatch::at(&logbook_tests::aws_config(), Some(logbook_tests::s3_endpoint())),
        recover_after: Duration::from_secs(5),
        lease: Duration::from_secs(60),
        crash: None,
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("METRICS_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let secs: u64 = std::env::var("METRICS_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let account = new_account();
    let ns = format!("Bench/{account}");

    // 1. Evaluation, CPU only: 100,000 events (9 in 10 access lines, 1 in 10 JSON).
    let corpus: Vec<(i64, i64, String)> = (0..100_000u64)
        .map(|i| {
            let m = if i % 10 == 9 {
                format!(r#"{{"latency": {}, "path": "/api/v1/items/{i}", "status": 200}}"#, i % 300)
            } else {
                format!("t {} {} {} {}", i % 16, i / 1600, i % 100, access_line(i, 180))
            };
            (1_800_000_000_000 + i as i64 * 10, 0, m)
        })
        .collect();
    let all = as_model(&ns);
    let one = evaluate_rate(&all[..1], &corpus);
    let ten = evaluate_rate(&all, &corpus);
    let bytes: usize = corpus.iter().map(|e| e.2.len()).sum();
    println!("## Metric filters (in process)\n");
    println!("Evaluation, one core, 100,000 events of ~{} bytes (release build, best of 5):\n", bytes / corpus.len());
    println!("| filters on the group | events/s per core | MB/s per core |");
    println!("|---|---|---|");
    for (k, rate) in [("1 (`status=500`)".to_owned(), one), ("all 10".to_owned(), ten)] {
        println!("| {k} | {rate:.0} | {:.1} |", rate * bytes as f64 / corpus.len() as f64 / 1e6);
    }
    println!("\nEach of the ten alone:\n");
    println!("| filter | pattern | value | events/s per core |");
    println!("|---|---|---|---|");
    for f in &all {
        let t = &f.metric_transformations[0];
        let dims = t
            .dimensions
            .as_ref()
            .map(|d| format!(" ({})", d.keys().cloned().collect::<Vec<_>>().join(", ")))
            .unwrap_or_default();
        println!(
            "| {} | `{}` | `{}`{dims} | {:.0} |",
            f.filter_name,
            f.filter_pattern.replace('|', "\\|"),
            t.metric_value,
            evaluate_rate(std::slice::from_ref(f), &corpus)
        );
    }
    println!();
    if std::env::var("METRICS_BENCH_ONLY_EVALUATION").is_ok() {
        return;
    }

    // 2. The pipeline, for real.
    let tokens = TokenCodec::new(b"bench");
    let write_meter = Arc::new(Meter::default());
    let fanout_meter = Arc::new(Meter::default());
    let publish_meter = Arc::new(Meter::default());
    let events =
        logbook_log_events::LogEvents { store: store().with_meter(write_meter.clone()), tokens: tokens.clone() };
    let groups = logbook_log_groups::LogGroups { store: store(), tokens: tokens.clone() };
    let streams = logbook_log_streams::LogStreams { store: store(), tokens: tokens.clone() };
    let filters = logbook_metric_filters::MetricFilters { store: store(), tokens };
    let req = |target: &str, body: Value| request(&account, &format!("Logs_20140328.{target}"), body.to_string());
    for g in ["metered", "plain", "latency"] {
        call(&groups, req("CreateLogGroup", json!({ "logGroupName": g }))).await;
        for w in 0..16 {
            call(&streams, req("CreateLogStream", json!({ "logGroupName": g, "logStreamName": format!("w{w}") })))
                .await;
        }
    }
    for (name, pattern, value, dim) in ten_filters(&ns) {
        let mut t = json!({ "metricName": name, "metricNamespace": ns, "metricValue": value, "unit": "Count" });
        if let Some((k, v)) = dim {
            t["dimensions"] = json!({ k: v });
        }
        let body = json!({ "logGroupName": "metered", "filterName": name, "filterPattern": pattern,
            "metricTransformations": [t] });
        call(&filters, req("PutMetricFilter", body)).await;
    }
    // Latency: each put its own datapoint (a dimension per event).
    let body = json!({ "logGroupName": "latency", "filterName": "each", "filterPattern": "[tag, id]",
        "metricTransformations": [{ "metricName": "Each", "metricNamespace": ns, "metricValue": "1",
            "unit": "Count", "dimensions": { "Id": "$id" } }] });
    call(&filters, req("PutMetricFilter", body)).await;

    let fanout = Arc::new(Fanout {
        store: store().with_meter(fanout_meter.clone()),
        targets: logbook_tests::targets(None),
        backoff: Backoff::DEPLOYED,
        scope: Some(account.clone()),
        data_events: false,
    });
    let fan = feed_fanout(fanout.clone(), &account).await;
    // The publisher, back to back (the worker's schedule is the rest of the latency).
    let published = Arc::new(std::sync::Mutex::new(Published::default()));
    let publishing = Arc::new(AtomicBool::new(true));
    let publisher_busy = Arc::new(AtomicU64::new(0));
    {
        let (published, publishing, busy) = (published.clone(), publishing.clone(), publisher_busy.clone());
        let p = publisher(&publish_meter);
        tokio::spawn(async move {
            while publishing.load(Ordering::Relaxed) {
                let t = Instant::now();
                if let Ok(r) = p.run(Instant::now() + Duration::from_secs(50)).await {
                    let mut total = published.lock().unwrap();
                    total.calls += r.calls;
                    total.datapoints += r.datapoints;
                }
                busy.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    let cw = CloudWatch::at(&logbook_tests::aws_config(), Some(logbook_tests::s3_endpoint()));
    let mut lat = Vec::new();
    for i in 0..n {
        let ts = logbook_storage::now_millis();
        let body = json!({ "logGroupName": "latency", "logStreamName": "w0",
            "logEvents": [{ "timestamp": ts, "message": format!("latency {i}") }] });
        call(&events, req("PutLogEvents", body)).await;
        let answered = Instant::now();
        let b = Bucket {
            namespace: ns.clone(),
            metric: "Each".into(),
            dimensions: vec![("Id".into(), i.to_string())],
            unit: Some("Count".into()),
            minute: ts - ts.rem_euclid(MINUTE_MS),
        };
        let deadline = answered + Duration::from_secs(60);
        while cw.sample_count(&b).await.unwrap() < 1.0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lat.push(answered.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "Latency, PutLogEvents' answer → the datapoint in CloudWatch (GetMetricStatistics), publisher running \
         back to back ({n} single-event puts): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms. Deployed, the worker's \
         one-minute schedule adds 0–60 s (AWS's own metric filters publish about a minute behind); \
         scripts/serve's 10-second loop adds 0–10 s.\n",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        lat.last().copied().unwrap_or_default()
    );

    // 3. Cost: the 16 writers into a group without filters, then into one with the ten. The
    // publisher stops running back to back: one run after the writers stop stands for the
    // scheduled run that finds their contributions pending.
    publishing.store(false, Ordering::Relaxed);
    let events = Arc::new(events);
    write_meter.reset();
    let (_, plain_raw, _) = sixteen_writers(events.clone(), &account, "plain", secs).await;
    let wru_plain = write_meter.write_units();
    write_meter.reset();
    fanout_meter.reset();
    publish_meter.reset();
    fan.reset();
    publisher_busy.store(0, Ordering::Relaxed);
    let (total, raw, _) = sixteen_writers(events.clone(), &account, "metered", secs).await;
    let wru_metered = write_meter.write_units();
    // The fan-out catches up (its deltas stop growing), then one publisher run.
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let pending = store().pending_metric_deltas(100_000).await.unwrap().len();
        if pending == last {
            break;
        }
        last = pending;
    }
    let p = publisher(&publish_meter);
    let t = Instant::now();
    let p = p.run(Instant::now() + Duration::from_secs(300)).await.unwrap();
    publisher_busy.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
    assert!(store().pending_metric_deltas(1).await.unwrap().is_empty(), "everything published");
    let per_gb = |x: f64| x / raw * GB;
    let wru_fan = per_gb(fanout_meter.write_units());
    let rru_fan = per_gb(fanout_meter.read_units());
    let wru_pub = per_gb(publish_meter.write_units());
    let rru_pub = per_gb(publish_meter.read_units());
    let calls = per_gb(p.calls as f64);
    let inv = per_gb(fan.invocations.load(Ordering::Relaxed) as f64);
    let busy = per_gb(fan.busy_micros.load(Ordering::Relaxed) as f64 / 1e6);
    let lambda = inv * LAMBDA_REQUEST + busy * 0.5 * LAMBDA_GB_SECOND;
    let pub_busy = per_gb(publisher_busy.load(Ordering::Relaxed) as f64 / 1e6);
    let ingest_added = (wru_metered / raw - wru_plain / plain_raw) * GB;
    println!(
        "Cost, 16 writers of 100 × ~200-byte batches for {secs} s into a group with the ten filters: {total} events, \
         {:.0} MB; {} PutMetricData calls carried {} datapoints.\n",
        raw / 1e6,
        p.calls,
        p.datapoints
    );
    println!("| item | per GB | $ per GB |");
    println!("|---|---|---|");
    println!(
        "| PutLogEvents WRU, group with filters vs without | {ingest_added:+.0} WRU | ${:.4} |",
        ingest_added * WRU_DOLLARS
    );
    println!(
        "| fan-out: checkpoints and filters read, contributions stored (one transaction per batch) | {wru_fan:.0} WRU, {rru_fan:.0} RRU | ${:.4} |",
        wru_fan * WRU_DOLLARS + rru_fan * RRU_DOLLARS
    );
    println!("| fan-out invocations (512 MB, arm64, busy time in process) | {inv:.0}, {busy:.0} s | ${lambda:.4} |");
    println!(
        "| publisher, one run: lease, flights, confirmations, contributions read and deleted | {wru_pub:.0} WRU, {rru_pub:.0} RRU | ${:.4} |",
        wru_pub * WRU_DOLLARS + rru_pub * RRU_DOLLARS
    );
    println!(
        "| publisher time in the worker (256 MB, arm64) | {pub_busy:.0} s | ${:.4} |",
        pub_busy * 0.25 * LAMBDA_GB_SECOND
    );
    println!("| PutMetricData ($0.01 per 1,000 calls) | {calls:.0} calls | ${:.4} |", calls * PUT_METRIC_DATA);
    println!(
        "| **total added** | | **${:.4}** |",
        ingest_added * WRU_DOLLARS
            + wru_fan * WRU_DOLLARS
            + rru_fan * RRU_DOLLARS
            + lambda
            + wru_pub * WRU_DOLLARS
            + rru_pub * RRU_DOLLARS
            + calls * PUT_METRIC_DATA
            + pub_busy * 0.25 * LAMBDA_GB_SECOND
    );
    println!(
        "\nCustom metrics themselves are billed by CloudWatch per metric per month ($0.30 for each of the first \
         10,000), as for AWS's own metric filters; not a per-GB cost."
    );
}
