//! Export throughput and cost. A group of EXPORT_BENCH_MB (256) MB of access-log lines in four
//! streams (1 MB PutLogEvents calls), then, in the same process on the same data:
//! - the baseline: the export's reads alone (the same `read_events` calls, no gzip, no S3);
//! - the export: the worker's exporter to moto's S3, in 32 MiB objects.
//!
//! Reported: MB of log text per second for both, read and write units (metered store), S3 PUTs,
//! resident-memory growth, and the cost per GB exported.
//!
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8765 LOGBOOK_TEST_S3=http://127.0.0.1:8766 \
//!   cargo bench -p logbook-tests --bench exports

use std::time::Instant;

use logbook_model::logs::LogGroup;
use logbook_protocol::Identity;
use logbook_storage::events::{Direction, Pos, Read};
use logbook_tests::export::{fill, metered, run_export};
use logbook_tests::{logs_client_for, new_account, s3};

/// On-demand DynamoDB (per million units), arm64 Lambda (per GB-second), S3 PUT (per 1,000).
const WRU: f64 = 0.625;
const RRU: f64 = 0.125;
const LAMBDA_GB_S: f64 = 0.000_013_333_4;
const S3_PUT: f64 = 0.005;
/// The maintenance function's memory (template.yaml's default).
const WORKER_GB: f64 = 0.25;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mb: usize = std::env::var("EXPORT_BENCH_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
    let account = new_account();
    let id = Identity { account_id: account.clone(), region: "us-east-1".into(), access_key_id: None, user_name: None };
    let t = Instant::now();
    let (events, bytes) = fill(&account, "bench", 4, mb).await;
    let lines = bytes + events * 26;
    let gb = lines as f64 / 1e9;
    println!("filled {:.0} MB ({events} events) in {:.1} s", lines as f64 / 1e6, t.elapsed().as_secs_f64());

    // Baseline: the same reads, nothing else.
    let (store, meter) = metered();
    let group: LogGroup = store.require_group(&id, "bench").await.unwrap();
    let now = logbook_storage::now_millis();
    let t = Instant::now();
    let mut read_bytes = 0u64;
    for s in 0..4 {
        let stream = store.export_stream(&id, &group.id, &format!("app/{s}")).await.unwrap().unwrap();
        let mut last = Pos::start();
        loop {
            let read = Read {
                group_id: &group.id,
                stream: &stream,
                spans: None,
                lo: 0,
                hi: now + 1,
                from: &last,
                direction: Direction::Forward,
                limit: 50_000,
                max_bytes: 8 * 1024 * 1024,
                now,
            };
            let batch = store.read_events(&id, &read).await.unwrap();
            let Some(e) = batch.last() else { break };
            last = e.pos.clone();
            read_bytes += batch.iter().map(|e| e.message.len() as u64 + 26).sum::<u64>();
        }
    }
    let base_s = t.elapsed().as_secs_f64();
    assert_eq!(read_bytes, lines);
    let base_rru = meter.read_units();
    println!("baseline (reads only): {:.1} MB/s, {:.0} RRU/GB", lines as f64 / 1e6 / base_s, base_rru / gb);

    // The export.
    let bucket = format!("bench-{account}");
    s3().create_bucket().bucket(&bucket).send().await.unwrap();
    let c = logs_client_for(&account, "us-east-1");
    let task =
        c.create_export_task().log_group_name("bench").from(0).to(now).destination(&bucket).send().await.unwrap();
    let task = task.task_id().unwrap().to_owned();
    let (store, meter) = metered();
    let run = run_export(&account, &task, store, logbook_maintenance::export::OBJECT_BYTES).await;
    assert_eq!(run.progress.bytes, lines);
    let (rru, wru) = (meter.read_units(), meter.write_units());
    let puts = run.progress.objects as f64;
    println!(
        "export: {:.1} MB/s ({:.2}× the reads alone), {} objects, {} worker runs, resident +{:.1} MiB",
        lines as f64 / 1e6 / run.seconds,
        base_s / run.seconds,
        run.progress.objects,
        run.worker_runs,
        run.peak_rss as f64 / 1_048_576.0
    );
    let lambda_s_per_gb = run.seconds / gb;
    let cost = [
        ("reads", rru / gb, rru / gb * RRU / 1e6),
        ("writes (task progress, end)", wru / gb, wru / gb * WRU / 1e6),
        ("S3 PUTs", puts / gb, puts / gb * S3_PUT / 1e3),
        ("worker Lambda seconds", lambda_s_per_gb, lambda_s_per_gb * WORKER_GB * LAMBDA_GB_S),
    ];
    let mut total = 0.0;
    for (what, per_gb, dollars) in cost {
        println!("  {what}: {per_gb:.1} per GB, ${dollars:.5}/GB");
        total += dollars;
    }
    println!("cost per GB exported: ${total:.4}");
}
