//! Log events: what one PutLogEvents costs on the server (time and DynamoDB write units, hence
//! dollars per GB), and whether FilterLogEvents over a one-hour window grows with the history
//! stored around it. In-process through the real pipeline, against DynamoDB Local.
//!
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8765 cargo bench -p logbook-tests --bench ingest
//! (INGEST_BENCH_N PutLogEvents calls; FILTER_BENCH_SIZES=100000,1000000 events stored)

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::Request;
use logbook_auth::{Auth, KeySource, Mode};
use logbook_model::TokenCodec;
use logbook_protocol::Identity;
use logbook_protocol::pipeline::{AuditSink, Dispatch, NoAudit, handle};
use logbook_storage::Meter;
use logbook_storage::audit::AuditLog;
use logbook_storage::work::Budget;
use logbook_tests::{access_line as line, lambda_request as request, new_account, store, web_line};

const WRU_DOLLARS: f64 = 0.625 / 1e6;
const RRU_DOLLARS: f64 = 0.125 / 1e6;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

async fn call<D: Dispatch, A: AuditSink>(group: &D, audit: &A, req: Request) -> (Duration, serde_json::Value) {
    let t = Instant::now();
    // Signatures unchecked: this measures the event path (verification: the routing bench).
    let resp = handle(group, &Auth::new(Mode::Off, KeySource::Chain(Vec::new())), audit, req).await;
    let d = t.elapsed();
    let v = serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
    assert!(resp.status().is_success(), "{v}");
    (d, v)
}

/// `len` for the web-access corpus (lines of their own length) instead of the high-entropy one.
const WEB: usize = 0;

fn message(i: u64, len: usize) -> String {
    if len == WEB { web_line(i) } else { line(i, len) }
}

fn batch(start_ts: i64, first: u64, n: usize, step_ms: i64, len: usize) -> (String, usize) {
    let events: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({ "timestamp": start_ts + i as i64 * step_ms, "message": message(first + i as u64, len) }))
        .collect();
    let raw = events.iter().map(|e| e["message"].as_str().unwrap().len()).sum();
    (serde_json::json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": events }).to_string(), raw)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    format!(
        "mean {mean:.1} ms, p50 {:.1} ms, p95 {:.1} ms (n={})",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 95 / 100]),
        v.len()
    )
}

async fn setup(
    events: &logbook_log_events::LogEvents,
    groups: &logbook_log_groups::LogGroups,
    streams: &logbook_log_streams::LogStreams,
) -> String {
    let _ = events;
    let account = new_account();
    call(groups, &NoAudit, request(&account, "Logs_20140328.CreateLogGroup", r#"{"logGroupName":"g"}"#.into())).await;
    call(
        streams,
        &NoAudit,
        request(&account, "Logs_20140328.CreateLogStream", r#"{"logGroupName":"g","logStreamName":"s"}"#.into()),
    )
    .await;
    account
}

/// Provisioned capacity at full utilisation (us-east-1): $0.00065 per WCU-hour, $0.00013 per
/// RCU-hour; one unit-hour is 3,600 unit-seconds.
const WRU_PROVISIONED: f64 = 0.00065 / 3600.0;

/// Every write unit a PutLogEvents causes (chunks, parts, the stream item and its index entry,
/// active-hour items, and its audit record when data events are recorded) at 1, 10, 100, 1,000
/// events per call and full batches, for two corpora: $ per GB of message bytes.
async fn cost_table(
    events: &logbook_log_events::LogEvents,
    groups: &logbook_log_groups::LogGroups,
    streams: &logbook_log_streams::LogStreams,
    meter: &Arc<Meter>,
    now: i64,
) {
    let audit = AuditLog::new(store().with_meter(meter.clone()));
    println!("## Cost per GB ingested, every write unit of the call (audit: data events off, the default)\n");
    println!(
        "| corpus | events per call | calls | WRU per call | $ per GB on-demand | with the group's dictionary: WRU per call | WRU per GB | $ per GB on-demand | $ per GB provisioned (full use) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (corpus, len, full) in [("high-entropy 200 B", 200usize, 4_600usize), ("web access ~205 B", WEB, 4_000)] {
        // A busy group: 1.2 MB of the corpus makes the writer ask for a dictionary; the worker's
        // job trains it (its one-off writes are not counted below).
        let trained = setup(events, groups, streams).await;
        for i in 0..60u64 {
            let (body, _) = batch(now - 7_200_000 + i as i64 * 100, 1_000_000 + i * 100, 100, 1, len);
            call(events, &NoAudit, request(&trained, "Logs_20140328.PutLogEvents", body)).await;
        }
        let id =
            Identity { account_id: trained.clone(), region: "us-east-1".into(), access_key_id: None, user_name: None };
        for job in store().jobs(Some(&id)).await.unwrap() {
            let mut budget = Budget { deadline: Instant::now() + Duration::from_secs(120), writes: usize::MAX };
            store().run_job(&job, 0, &mut budget).await.unwrap();
        }
        let group = store().require_group(&id, "g").await.unwrap();
        assert!(group.dictionary.is_some(), "{corpus}: a dictionary was trained");
        for count in [1usize, 10, 100, 1_000, full] {
            let calls = (2_000_000 / (count * 200)).clamp(10, 400);
            let mut measured = Vec::new();
            for account in [setup(events, groups, streams).await, trained.clone()] {
                let stream = format!("s{count}");
                let body = format!(r#"{{"logGroupName":"g","logStreamName":"{stream}"}}"#);
                call(streams, &NoAudit, request(&account, "Logs_20140328.CreateLogStream", body)).await;
                let on = |body: String| {
                    body.replacen(r#""logStreamName":"s""#, &format!(r#""logStreamName":"{stream}""#), 1)
                };
                // A first call writes the stream's first times and the hour's active item: steady state after it.
                let (body, _) = batch(now - 3_700_000, 0, count, 1, len);
                call(events, &audit, request(&account, "Logs_20140328.PutLogEvents", on(body))).await;
                meter.reset();
                let mut raw_bytes = 0usize;
                for i in 0..calls {
                    let (body, raw) =
                        batch(now - 3_600_000 + i as i64 * 1_000, ((i + 1) * count) as u64, count, 1, len);
                    call(events, &audit, request(&account, "Logs_20140328.PutLogEvents", on(body))).await;
                    raw_bytes += raw;
                }
                let wru = meter.write_units();
                measured.push((wru / calls as f64, wru / raw_bytes as f64 * GB));
            }
            let label = if count == full { format!("{count} (full)") } else { count.to_string() };
            let ((plain_call, plain_gb), (dict_call, dict_gb)) = (measured[0], measured[1]);
            println!(
                "| {corpus} | {label} | {calls} | {plain_call:.2} | ${:.3} | {dict_call:.2} | {dict_gb:.0} | ${:.3} | ${:.3} |",
                plain_gb * WRU_DOLLARS,
                dict_gb * WRU_DOLLARS,
                dict_gb * WRU_PROVISIONED
            );
        }
    }
    println!();
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("INGEST_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let sizes: Vec<usize> = std::env::var("FILTER_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let meter = Arc::new(Meter::default());
    let tokens = TokenCodec::new(b"bench");
    let events = logbook_log_events::LogEvents { store: store().with_meter(meter.clone()), tokens: tokens.clone() };
    let groups = logbook_log_groups::LogGroups { store: store(), tokens: tokens.clone() };
    let streams = logbook_log_streams::LogStreams { store: store(), tokens };
    let audit = AuditLog::new(store());
    let now = logbook_storage::now_millis();

    // 10,000 events of 200 bytes would be 2.26 MB, over PutLogEvents' 1 MB batch limit: measure the
    // largest batches AWS accepts of each kind instead.
    println!("## One full PutLogEvents (server side, in-process, DynamoDB Local)\n");
    let account = setup(&events, &groups, &streams).await;
    for (count, len) in [(4_600usize, 200usize), (10_000, 78), (100, 200), (4_000, WEB)] {
        let (mut plain, mut audited) = (Vec::new(), Vec::new());
        let mut raw_bytes = 0usize;
        meter.reset();
        for i in 0..n {
            let seed = (i * 2 * count) as u64;
            let (body, raw) = batch(now - 3_600_000 + i as i64 * 20_000, seed, count, 1, len);
            let (d, _) = call(&events, &NoAudit, request(&account, "Logs_20140328.PutLogEvents", body)).await;
            plain.push(d);
            raw_bytes += raw;
            let (body, raw) = batch(now - 3_000_000 + i as i64 * 20_000, seed + count as u64, count, 1, len);
            let (d, _) = call(&events, &audit, request(&account, "Logs_20140328.PutLogEvents", body)).await;
            audited.push(d);
            raw_bytes += raw;
        }
        let wru = meter.write_units();
        let per_gb = wru / raw_bytes as f64 * GB;
        if len == WEB {
            let avg = (0..count as u64).map(|i| web_line(i).len()).sum::<usize>() / count;
            println!("### {count} web access lines (combined log format, ~{avg} bytes each)\n");
        } else {
            println!("### {count} × {len}-byte events ({:.2} MB counted)\n", (count * (len + 26)) as f64 / 1e6);
        }
        // The CPU part alone (no DynamoDB): decode, validate, accept, pack and compress.
        let mut cpu = Vec::new();
        for i in 0..n {
            let (body, _) = batch(now - 3_600_000 + i as i64 * 20_000, (i * count) as u64, count, 1, len);
            let t = Instant::now();
            let req: logbook_model::events::PutLogEventsRequest = serde_json::from_str(&body).unwrap();
            let (accepted, _) = req.validate().unwrap().accept(now, None).unwrap();
            let mut compressed = 0;
            for c in logbook_storage::events::chunks(&accepted) {
                compressed += logbook_storage::events::encode_chunk(c, None).unwrap().blob.len();
            }
            cpu.push(t.elapsed());
            assert!(compressed > 0);
        }
        println!("- CPU part (decode, validate, pack, compress; no I/O): {}", summary(cpu));
        println!("- without audit: {}", summary(plain));
        println!("- with audit:    {}", summary(audited));
        println!(
            "- DynamoDB consumed {wru:.0} WRU for {:.1} MB of messages: {per_gb:.0} WRU per GB ingested = ${:.3} per GB (on-demand, events; CloudWatch: $0.50)\n",
            raw_bytes as f64 / 1e6,
            per_gb * WRU_DOLLARS
        );
    }

    cost_table(&events, &groups, &streams, &meter, now).await;

    // Log shippers: 16 writers sending 100-event batches at once, in-process (no HTTP, no router),
    // so what remains is the pipeline and DynamoDB Local.
    let secs: u64 = std::env::var("INGEST_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    println!("## 16 concurrent writers, 100 × 200-byte batches, in-process, {secs} s each\n");
    println!("| streams | audit | events/s | batch p50 | batch p95 |\n|---|---|---|---|---|");
    for stream_count in [1usize, 16] {
        for audited in [false, true] {
            let account = setup(&events, &groups, &streams).await;
            for s in 1..stream_count {
                let body = format!(r#"{{"logGroupName":"g","logStreamName":"s{s}"}}"#);
                call(&streams, &NoAudit, request(&account, "Logs_20140328.CreateLogStream", body)).await;
            }
            let deadline = Instant::now() + Duration::from_secs(secs);
            let writer = |w: usize| {
                let (events, audit, account) = (&events, &audit, account.clone());
                async move {
                    let stream = if stream_count == 1 || w == 0 { "s".to_owned() } else { format!("s{w}") };
                    let mut times = Vec::new();
                    let mut i = 0u64;
                    while Instant::now() < deadline {
                        let (body, _) = batch(now - 600_000 + i as i64, ((w as u64) << 32) | (i * 100), 100, 0, 200);
                        let body =
                            body.replacen(r#""logStreamName":"s""#, &format!(r#""logStreamName":"{stream}""#), 1);
                        let req = request(&account, "Logs_20140328.PutLogEvents", body);
                        let d = if audited {
                            call(events, audit, req).await.0
                        } else {
                            call(events, &NoAudit, req).await.0
                        };
                        times.push(d);
                        i += 1;
                    }
                    times
                }
            };
            let t = Instant::now();
            let all: Vec<Duration> =
                futures::future::join_all((0..16).map(writer)).await.into_iter().flatten().collect();
            let rate = all.len() as f64 * 100.0 / t.elapsed().as_secs_f64();
            let mut sorted = all.clone();
            sorted.sort();
            println!(
                "| {stream_count} | {} | {rate:.0} | {:.1} ms | {:.1} ms |",
                if audited { "yes" } else { "no" },
                ms(sorted[sorted.len() / 2]),
                ms(sorted[sorted.len() * 95 / 100])
            );
        }
    }
    println!();

    println!("## FilterLogEvents over one hour (4,000 events in the window), by history stored around it\n");
    println!("| events stored | pattern | n | latency | RRU per call | $ per GB scanned |\n|---|---|---|---|---|---|");
    for size in sizes {
        let account = setup(&events, &groups, &streams).await;
        // The window: the hour that ended an hour ago.
        let window_start = now - 2 * 3_600_000;
        let (body, _) = batch(window_start, 0, 4_000, 900, 200);
        call(&events, &NoAudit, request(&account, "Logs_20140328.PutLogEvents", body)).await;
        // The rest of the history: older batches of 4,000, about an hour each, 1 to 13 days back.
        let t = Instant::now();
        let older = size.saturating_sub(4_000) / 4_000;
        for b in 0..older {
            let start = now - 13 * 86_400_000 + b as i64 * (12 * 86_400_000 / older.max(1) as i64);
            let (body, _) = batch(start, 1_000_000 + b as u64 * 4_000, 4_000, 1_000, 200);
            call(&events, &NoAudit, request(&account, "Logs_20140328.PutLogEvents", body)).await;
        }
        eprintln!("stored {size} events in {:.1?}", t.elapsed());
        for (name, pattern) in [("everything", ""), ("term", "status=500"), ("two terms", "?DELETE ?PUT")] {
            let body = serde_json::json!({
                "logGroupName": "g",
                "startTime": window_start,
                "endTime": window_start + 3_600_000 - 1,
                "filterPattern": pattern,
            })
            .to_string();
            let mut v = Vec::new();
            meter.reset();
            for _ in 0..10 {
                let (d, out) =
                    call(&events, &NoAudit, request(&account, "Logs_20140328.FilterLogEvents", body.clone())).await;
                assert!(out["events"].as_array().is_some_and(|e| !e.is_empty()));
                v.push(d);
            }
            let rru = meter.read_units() / 10.0;
            // Each call scans the window's 4,000 messages of 200 bytes.
            let per_gb = rru / (4_000.0 * 200.0) * GB * RRU_DOLLARS;
            println!("| {size} | {name} | 10 | {} | {rru:.0} (${:.6}) | ${per_gb:.4} |", summary(v), rru * RRU_DOLLARS);
        }
    }
}
