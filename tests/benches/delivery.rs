//! Subscription delivery: latency from PutLogEvents' answer to the event's arrival in a Kinesis
//! stream, throughput with the ingest bench's 16 writers, and what delivery adds per GB. In
//! process: the real PutLogEvents pipeline on DynamoDB Local, the table's stream read by the same
//! feeder `scripts/serve` runs, the fan-out, and Kinesis on the local AWS services (moto).
//!
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8765 LOGBOOK_TEST_S3=http://127.0.0.1:8766 \
//!   cargo bench -p logbook-tests --bench delivery
//! (DELIVERY_BENCH_N single-event puts for latency, default 200; DELIVERY_BENCH_SECS of 16
//! writers, default 10)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::types::ShardIteratorType;
use logbook_fanout::{Backoff, Fanout};
use logbook_model::TokenCodec;
use logbook_storage::Meter;
use logbook_tests::bench::{call, feed_fanout, percentile, sixteen_writers};
use logbook_tests::{lambda_request as request, new_account, store};
use serde_json::{Value, json};

const WRU_DOLLARS: f64 = 0.625 / 1e6;
const RRU_DOLLARS: f64 = 0.125 / 1e6;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Lambda on arm64: $0.20 per million requests, $0.0000133334 per GB-second.
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;

/// Reads a Kinesis stream from its start for as long as `run` is set, noting when each event
/// (by its message) first arrived.
async fn consume(name: String, seen: Arc<Mutex<HashMap<String, Instant>>>, run: Arc<AtomicBool>) {
    let k = aws_sdk_kinesis::Client::new(&logbook_tests::aws_config());
    let shard = k.list_shards().stream_name(&name).send().await.unwrap().shards()[0].shard_id().to_owned();
    let mut it = k
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .map(str::to_owned);
    while run.load(Ordering::Relaxed) {
        let Some(i) = it.clone() else { break };
        let r = k.get_records().shard_iterator(i).limit(10_000).send().await.unwrap();
        let now = Instant::now();
        for rec in r.records() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(rec.data().as_ref()), &mut text).unwrap();
            let m: Value = serde_json::from_str(&text).unwrap();
            let mut seen = seen.lock().unwrap();
            for e in m["logEvents"].as_array().into_iter().flatten() {
                seen.entry(e["message"].as_str().unwrap().to_owned()).or_insert(now);
            }
        }
        it = r.next_shard_iterator().map(str::to_owned);
        if r.records().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("DELIVERY_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let secs: u64 = std::env::var("DELIVERY_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let tokens = TokenCodec::new(b"bench");
    let write_meter = Arc::new(Meter::default());
    let read_meter = Arc::new(Meter::default());
    let events =
        logbook_log_events::LogEvents { store: store().with_meter(write_meter.clone()), tokens: tokens.clone() };
    let groups = logbook_log_groups::LogGroups { store: store(), tokens: tokens.clone() };
    let streams = logbook_log_streams::LogStreams { store: store(), tokens: tokens.clone() };
    let subs = logbook_subscriptions::Subscriptions { store: store(), tokens, targets: logbook_tests::targets(None) };
    let account = new_account();
    let kname = format!("bench-{account}");
    aws_sdk_kinesis::Client::new(&logbook_tests::aws_config())
        .create_stream()
        .stream_name(&kname)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let req = |target: &str, body: Value| request(&account, &format!("Logs_20140328.{target}"), body.to_string());
    for g in ["subscribed", "plain"] {
        call(&groups, req("CreateLogGroup", json!({ "logGroupName": g }))).await;
        for w in 0..16 {
            call(&streams, req("CreateLogStream", json!({ "logGroupName": g, "logStreamName": format!("w{w}") })))
                .await;
        }
    }
    call(
        &subs,
        req(
            "PutSubscriptionFilter",
            json!({ "logGroupName": "subscribed", "filterName": "all", "filterPattern": "",
                "destinationArn": format!("arn:aws:kinesis:us-east-1:123456789012:stream/{kname}"),
                "roleArn": "arn:aws:iam::123456789012:role/bench" }),
        ),
    )
    .await;

    // The fan-out, fed from the table's stream, as under scripts/serve (in process here).
    let fanout = Arc::new(Fanout {
        store: store().with_meter(read_meter.clone()),
        targets: logbook_tests::targets(None),
        backoff: Backoff::DEPLOYED,
        scope: Some(account.clone()),
        data_events: false,
    });
    let fan = feed_fanout(fanout.clone(), &account).await;
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let run = Arc::new(AtomicBool::new(true));
    tokio::spawn(consume(kname.clone(), seen.clone(), run.clone()));

    // Latency: one event at a time, 20 ms apart.
    let mut answered: Vec<(String, Instant)> = Vec::new();
    for i in 0..n {
        let m = format!("latency {i}");
        let body = json!({ "logGroupName": "subscribed", "logStreamName": "w0",
            "logEvents": [{ "timestamp": logbook_storage::now_millis(), "message": m }] });
        call(&events, req("PutLogEvents", body)).await;
        answered.push((m, Instant::now()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.iter().any(|(m, _)| !seen.lock().unwrap().contains_key(m)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut lat: Vec<f64> = {
        let seen = seen.lock().unwrap();
        answered.iter().filter_map(|(m, t)| seen.get(m).map(|r| r.duration_since(*t).as_secs_f64() * 1e3)).collect()
    };
    lat.sort_by(f64::total_cmp);
    println!("## Subscription delivery (in process: DynamoDB Local's stream → feeder → fan-out → Kinesis on moto)\n");
    println!(
        "Latency, PutLogEvents' answer → the event read from Kinesis ({} of {n} single-event puts, 20 ms apart): \
         p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );

    // The same writes to a group without filters first: what marking chunks for the fan-out adds.
    let events = Arc::new(events);
    write_meter.reset();
    let (_, plain_raw, _) = sixteen_writers(events.clone(), &account, "plain", secs).await;
    let wru_plain = write_meter.write_units();

    // Throughput: the ingest bench's 16 writers of 100 × 200-byte batches, one stream each.
    write_meter.reset();
    read_meter.reset();
    fan.reset();
    let start = Instant::now();
    let (total, raw, ingest_secs) = sixteen_writers(events.clone(), &account, "subscribed", secs).await;
    let stop = Instant::now();
    let wru_subscribed = write_meter.write_units();
    let count_throughput = || seen.lock().unwrap().keys().filter(|m| m.starts_with("t ")).count() as u64;
    let caught_up_at = {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if count_throughput() >= total || Instant::now() > deadline {
                break Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let delivered = count_throughput();
    let lag = caught_up_at.saturating_duration_since(stop).as_secs_f64();
    let rru = read_meter.read_units();
    let inv = fan.invocations.load(Ordering::Relaxed) as f64;
    let busy = fan.busy_micros.load(Ordering::Relaxed) as f64 / 1e6;
    println!(
        "Throughput, 16 writers of 100 × ~200-byte batches for {secs} s: {total} events ingested ({:.0} events/s); \
         {delivered} delivered, the last {:.1} s after the writers stopped ({:.0} events/s delivered over the whole run)\n",
        total as f64 / ingest_secs,
        lag,
        delivered as f64 / caught_up_at.duration_since(start).as_secs_f64()
    );
    let wru_plain_per_gb = wru_plain / plain_raw * GB;
    let wru_sub_per_gb = wru_subscribed / raw * GB;
    let rru_per_gb = rru / raw * GB;
    let inv_per_gb = inv / raw * GB;
    let busy_per_gb = busy / raw * GB;
    let lambda = inv_per_gb * LAMBDA_REQUEST + busy_per_gb * 0.5 * LAMBDA_GB_SECOND;
    println!("Cost per GB delivered (log text), what delivery adds to Logbook's own bill:\n");
    println!("| item | per GB | $ per GB |");
    println!("|---|---|---|");
    println!(
        "| PutLogEvents WRU, group with a filter vs without | {wru_sub_per_gb:.0} vs {wru_plain_per_gb:.0} WRU | +${:.4} |",
        (wru_sub_per_gb - wru_plain_per_gb) * WRU_DOLLARS
    );
    println!(
        "| fan-out reads (filters, destinations, parts) | {rru_per_gb:.0} RRU | ${:.4} |",
        rru_per_gb * RRU_DOLLARS
    );
    println!(
        "| fan-out invocations (512 MB, arm64; busy time measured in process, waits on the target included) | {inv_per_gb:.0} invocations, {busy_per_gb:.0} s | ${lambda:.4} |"
    );
    println!("| DynamoDB Streams reads by Lambda | free | $0 |");
    println!(
        "| **total added** | | **${:.4}** |",
        (wru_sub_per_gb - wru_plain_per_gb) * WRU_DOLLARS + rru_per_gb * RRU_DOLLARS + lambda
    );
    run.store(false, Ordering::Relaxed);
}
