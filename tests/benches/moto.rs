//! Logbook against moto's server, end to end, in the same run: the same aws-sdk-cloudwatchlogs
//! client code against a running `scripts/serve` and a running `moto_server`, interleaved call by
//! call where the measurement allows it. Logbook is measured three ways so the split shows where
//! the time goes: through `POST /` (router → Lambda Invoke → log-events), through `POST
//! /log-events` (no router hop), and in-process (this binary runs the log-events pipeline itself
//! against the same DynamoDB Local: no HTTP, no `cargo lambda watch`).
//!
//! LOGBOOK_RELEASE=1 scripts/serve &          # wait for "Logbook is ready"
//! .tools/venv/bin/moto_server -p 5055 &
//! cargo bench -p logbook-tests --bench moto
//!
//! LOGBOOK_ENDPOINT (http://127.0.0.1:9000), MOTO_ENDPOINT (http://127.0.0.1:5055),
//! LOGBOOK_TEST_DYNAMODB (http://127.0.0.1:8000: the DynamoDB Local scripts/serve started),
//! MOTO_BENCH_PARTS (a,b,c,d), MOTO_BENCH_N (10 big PutLogEvents per shape and target),
//! MOTO_BENCH_WRITERS (16), MOTO_BENCH_SECS (15 s per target and ingest run, taken in
//! MOTO_BENCH_ROUNDS = 3 turns), MOTO_BENCH_SIZES (100000,1000000 events stored for
//! FilterLogEvents), MOTO_BENCH_MOTO_SIZES (moto's, if it should stop earlier),
//! MOTO_BENCH_FILTER_N (5 calls per target and pattern).

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use logbook_auth::{Auth, KeySource, Mode};
use logbook_protocol::pipeline::handle;
use logbook_storage::audit::AuditLog;
use logbook_storage::now_millis;
use logbook_tests::{access_line, lambda_request, logs, store};
use logs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use logs::types::InputLogEvent;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Events per batch when loading history: 4,000 × 226 counted bytes stays under the 1 MB limit.
const LOAD_BATCH: usize = 4_000;
/// Streams the FilterLogEvents history is spread over.
const STREAMS: usize = 4;
/// Events in the one-hour window FilterLogEvents reads, whatever the history around it.
const WINDOW_EVENTS: usize = 4_000;

fn env<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn env_sizes(key: &str, default: &str) -> Vec<usize> {
    let v = std::env::var(key).unwrap_or_else(|_| default.to_owned());
    v.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

fn client(endpoint: &str) -> logs::Client {
    let conf = logs::Config::builder()
        .behavior_version(logs::config::BehaviorVersion::latest())
        .region(logs::config::Region::new("us-east-1"))
        .credentials_provider(logs::config::Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .retry_config(logs::config::retry::RetryConfig::disabled())
        // A stuck call fails the run instead of hanging it.
        .timeout_config(
            logs::config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(120)).build(),
        )
        .endpoint_url(endpoint)
        .build();
    logs::Client::from_conf(conf)
}

fn sdk_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: Debug + 'static>(e: SdkError<E, R>) -> String {
    match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => format!("{}", DisplayErrorContext(e)),
    }
}

/// The log-events pipeline as its function runs it (same code, same audit sink, same table).
struct InProcess {
    events: logbook_log_events::LogEvents,
    audit: AuditLog,
    ids: Auth,
}

enum Via {
    Sdk(logs::Client),
    InProcess(Box<InProcess>),
}

#[derive(Clone, Copy, PartialEq)]
enum System {
    Logbook,
    Moto,
}

#[derive(Clone)]
struct Target {
    name: &'static str,
    system: System,
    via: Arc<Via>,
}

type Batch = Vec<(i64, String)>;

fn batch(start: i64, step_ms: i64, first: u64, n: usize, len: usize) -> Batch {
    (0..n).map(|i| (start + i as i64 * step_ms, access_line(first + i as u64, len))).collect()
}

impl Target {
    /// One PutLogEvents; the request is built before the clock starts.
    async fn put(&self, group: &str, stream: &str, events: &Batch) -> Result<Duration, String> {
        match &*self.via {
            Via::Sdk(c) => {
                let input: Vec<InputLogEvent> = events
                    .iter()
                    .map(|(ts, m)| InputLogEvent::builder().timestamp(*ts).message(m).build().expect("complete"))
                    .collect();
                let req = c.put_log_events().log_group_name(group).log_stream_name(stream).set_log_events(Some(input));
                let t = Instant::now();
                let out = req.send().await.map_err(sdk_error)?;
                let d = t.elapsed();
                match out.rejected_log_events_info() {
                    Some(r) => Err(format!("rejected events: {r:?}")),
                    None => Ok(d),
                }
            }
            Via::InProcess(p) => {
                let events: Vec<serde_json::Value> =
                    events.iter().map(|(ts, m)| serde_json::json!({ "timestamp": ts, "message": m })).collect();
                let body = serde_json::json!({ "logGroupName": group, "logStreamName": stream, "logEvents": events });
                let req = lambda_request("AKIDBENCH", "Logs_20140328.PutLogEvents", body.to_string());
                let t = Instant::now();
                let resp = handle(&p.events, &p.ids, &p.audit, req).await;
                let d = t.elapsed();
                let v: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
                if !resp.status().is_success() {
                    Err(format!("{}: {}", v["__type"].as_str().unwrap_or("?"), v["message"].as_str().unwrap_or("")))
                } else if v.get("rejectedLogEventsInfo").is_some() {
                    Err(format!("rejected events: {}", v["rejectedLogEventsInfo"]))
                } else {
                    Ok(d)
                }
            }
        }
    }

    /// One FilterLogEvents call (the first page): its latency and how many events it returned.
    async fn filter(&self, group: &str, start: i64, end: i64, pattern: &str) -> Result<(Duration, usize), String> {
        match &*self.via {
            Via::Sdk(c) => {
                let req = c.filter_log_events().log_group_name(group).start_time(start).end_time(end);
                let req = if pattern.is_empty() { req } else { req.filter_pattern(pattern) };
                let t = Instant::now();
                let out = req.send().await.map_err(sdk_error)?;
                Ok((t.elapsed(), out.events().len()))
            }
            Via::InProcess(p) => {
                let body = serde_json::json!({
                    "logGroupName": group, "startTime": start, "endTime": end, "filterPattern": pattern,
                });
                let req = lambda_request("AKIDBENCH", "Logs_20140328.FilterLogEvents", body.to_string());
                let t = Instant::now();
                let resp = handle(&p.events, &p.ids, &p.audit, req).await;
                let d = t.elapsed();
                let v: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
                if !resp.status().is_success() {
                    return Err(format!("{}: {}", v["__type"].as_str().unwrap_or("?"), v["message"]));
                }
                Ok((d, v["events"].as_array().map_or(0, Vec::len)))
            }
        }
    }
}

/// Creates the group and streams on the system's plain endpoint (ignores "already exists").
async fn create(admin: &logs::Client, group: &str, streams: &[String]) {
    if let Err(e) = admin.create_log_group().log_group_name(group).send().await {
        let e = sdk_error(e);
        assert!(e.starts_with("ResourceAlreadyExistsException"), "CreateLogGroup {group}: {e}");
    }
    for s in streams {
        if let Err(e) = admin.create_log_stream().log_group_name(group).log_stream_name(s).send().await {
            let e = sdk_error(e);
            assert!(e.starts_with("ResourceAlreadyExistsException"), "CreateLogStream {group}/{s}: {e}");
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / v.len().max(1) as u32
}

/// The result table: one row per metric, one column per target, and Logbook's advantage over
/// moto (> 1: Logbook better) through `POST /` and through `/log-events`.
struct Table {
    names: Vec<&'static str>,
    rows: Vec<(String, Vec<String>, String)>,
}

impl Table {
    fn row(&mut self, metric: String, cells: Vec<String>, ratio: String) {
        println!("  {metric}: {} [{ratio}]", cells.join(" | "));
        self.rows.push((metric, cells, ratio));
    }

    fn print(&self) {
        println!("\n| metric | {} | Logbook ÷ moto (POST / ; /log-events) |", self.names.join(" | "));
        println!("|---|{}---|", "---|".repeat(self.names.len()));
        for (m, cells, r) in &self.rows {
            println!("| {m} | {} | {r} |", cells.join(" | "));
        }
    }
}

/// Latency ratio moto ÷ Logbook (> 1: Logbook faster) for the routed and direct columns.
fn latency_ratio(v: &[Option<f64>]) -> String {
    match (v[0], v[1], v[3]) {
        (Some(r), Some(d), Some(m)) => format!("{:.1}× ; {:.1}×", m / r, m / d),
        _ => "—".into(),
    }
}

#[tokio::main]
async fn main() {
    let logbook = std::env::var("LOGBOOK_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    let moto = std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5055".into());
    let n: usize = env("MOTO_BENCH_N", 10);
    let writers: usize = env("MOTO_BENCH_WRITERS", 16);
    let secs: u64 = env("MOTO_BENCH_SECS", 15);
    let filter_n: usize = env("MOTO_BENCH_FILTER_N", 5);
    let rounds: u64 = env("MOTO_BENCH_ROUNDS", 3).max(1);
    let sizes = env_sizes("MOTO_BENCH_SIZES", "100000,1000000");
    let parts = std::env::var("MOTO_BENCH_PARTS").unwrap_or_else(|_| "a,b,c,d".into());
    let part = |p: &str| parts.split(',').any(|x| x.trim() == p);
    let moto_sizes = std::env::var("MOTO_BENCH_MOTO_SIZES")
        .map_or_else(|_| sizes.clone(), |_| env_sizes("MOTO_BENCH_MOTO_SIZES", ""));

    let routed = client(&logbook);
    let moto_client = client(&moto);
    let in_process = InProcess {
        events: logbook_log_events::LogEvents { store: store(), tokens: logbook_model::TokenCodec::from_env() },
        audit: AuditLog::new(store()),
        // Signatures unchecked in-process: this compares event paths.
        ids: Auth::new(Mode::Off, KeySource::Chain(Vec::new())),
    };
    let targets = [
        Target { name: "Logbook POST /", system: System::Logbook, via: Arc::new(Via::Sdk(routed.clone())) },
        Target {
            name: "Logbook /log-events",
            system: System::Logbook,
            via: Arc::new(Via::Sdk(client(&format!("{logbook}/log-events")))),
        },
        Target {
            name: "Logbook in-process",
            system: System::Logbook,
            via: Arc::new(Via::InProcess(Box::new(in_process))),
        },
        Target { name: "moto", system: System::Moto, via: Arc::new(Via::Sdk(moto_client.clone())) },
    ];
    let admin = |s: System| if s == System::Logbook { &routed } else { &moto_client };
    let run = now_millis() / 1000;
    let mut table = Table { names: targets.iter().map(|t| t.name).collect(), rows: Vec::new() };
    println!("Logbook at {logbook}, moto at {moto}, run {run}\n");

    // Reachability, and a first call on every path (cold starts are not what this measures).
    let warm = format!("moto-bench-{run}-warm");
    for s in [System::Logbook, System::Moto] {
        create(admin(s), &warm, &["s".into()]).await;
    }
    for t in &targets {
        for i in 0..3 {
            t.put(&warm, "s", &batch(now_millis(), 1, i, 10, 200)).await.unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
    }

    // (a) One big PutLogEvents, sequential, interleaved target by target.
    if part("a") {
        println!("## (a) One PutLogEvents, round trip (n={n} per target, interleaved)");
    }
    let group = format!("moto-bench-{run}-big");
    let shapes: &[(usize, usize)] = if part("a") { &[(10_000, 200), (4_600, 200), (10_000, 78)] } else { &[] };
    for &(count, len) in shapes {
        let stream = format!("{count}x{len}");
        for s in [System::Logbook, System::Moto] {
            create(admin(s), &group, std::slice::from_ref(&stream)).await;
        }
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); targets.len()];
        let mut errors: Vec<Option<String>> = vec![None; targets.len()];
        let base = now_millis() - 3 * HOUR;
        for i in 0..n {
            for (k, t) in targets.iter().enumerate() {
                let call = (i * targets.len() + k) as u64;
                let events = batch(base + call as i64 * count as i64, 1, call * count as u64, count, len);
                match t.put(&group, &stream, &events).await {
                    Ok(d) => times[k].push(d),
                    Err(e) => {
                        errors[k].get_or_insert(e);
                    }
                }
            }
        }
        let p50s: Vec<Option<f64>> = times.iter_mut().map(|v| (!v.is_empty()).then(|| ms(pct(v, 50)))).collect();
        let cells = times
            .iter()
            .zip(&errors)
            .zip(&p50s)
            .map(|((v, e), p50)| match (p50, e) {
                (Some(p50), None) => format!("p50 {p50:.1} ms, mean {:.1} ms", ms(mean(v))),
                (_, Some(e)) => format!("refused ({})", e.split(':').next().unwrap_or(e)),
                (None, None) => "—".into(),
            })
            .collect();
        for (t, e) in targets.iter().zip(&errors) {
            if let Some(e) = e {
                println!("  {}: {e}", t.name);
            }
        }
        let mb = (count * (len + 26)) as f64 / 1e6;
        table.row(format!("PutLogEvents {count} × {len} B ({mb:.2} MB), round trip"), cells, latency_ratio(&p50s));
    }

    // (b) Ingest throughput: concurrent writers, 100-event batches of 200-byte lines.
    if part("b") {
        println!("\n## (b) Ingest: 1 and {writers} concurrent writers, 100 × 200 B batches, {secs} s per target");
    }
    let configs: &[(usize, bool)] = if part("b") { &[(1, true), (writers, true), (writers, false)] } else { &[] };
    for &(writers, shared) in configs {
        let group = format!("moto-bench-{run}-ingest-{writers}-{}", if shared { "one" } else { "many" });
        // Each target writes its own streams: one for all writers, or one per writer.
        let streams: Vec<Vec<String>> = (0..targets.len())
            .map(|k| (0..if shared { 1 } else { writers }).map(|w| format!("t{k}-w{w}")).collect())
            .collect();
        for (t, streams) in targets.iter().zip(&streams) {
            create(admin(t.system), &group, streams).await;
        }
        // Targets take turns, `rounds` slices of secs / rounds each, so a noisy neighbour on the
        // machine hits them all alike.
        let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); targets.len()];
        let mut errors = vec![0usize; targets.len()];
        let mut busy = vec![Duration::ZERO; targets.len()];
        let seq = Arc::new(AtomicU64::new(0));
        for _ in 0..rounds {
            for (k, t) in targets.iter().enumerate() {
                let deadline = Instant::now() + Duration::from_secs_f64(secs as f64 / rounds as f64);
                let started = Instant::now();
                let tasks: Vec<_> = (0..writers)
                    .map(|w| {
                        let (t, group, seq) = (t.clone(), group.clone(), seq.clone());
                        let stream = streams[k][w % streams[k].len()].clone();
                        tokio::spawn(async move {
                            let (mut lat, mut errors, mut first_error) = (Vec::new(), 0usize, None);
                            while Instant::now() < deadline {
                                let first = seq.fetch_add(100, Ordering::Relaxed);
                                let events = batch(now_millis(), 0, first, 100, 200);
                                match t.put(&group, &stream, &events).await {
                                    Ok(d) => lat.push(d),
                                    Err(e) => {
                                        errors += 1;
                                        first_error.get_or_insert(e);
                                    }
                                }
                            }
                            (lat, errors, first_error)
                        })
                    })
                    .collect();
                for r in futures::future::join_all(tasks).await {
                    let (l, e, first) = r.expect("writer task");
                    lat[k].extend(l);
                    errors[k] += e;
                    if let Some(first) = first {
                        println!("  {}: error: {first}", t.name);
                    }
                }
                busy[k] += started.elapsed();
            }
        }
        let mut rates = Vec::new();
        let mut cells = Vec::new();
        for k in 0..targets.len() {
            let rate = lat[k].len() as f64 * 100.0 / busy[k].as_secs_f64();
            rates.push(Some(rate));
            cells.push(format!(
                "{rate:.0} ev/s (batch p50 {:.1} ms, p95 {:.1} ms{})",
                ms(pct(&mut lat[k], 50)),
                ms(pct(&mut lat[k], 95)),
                if errors[k] > 0 { format!(", {} errors", errors[k]) } else { String::new() }
            ));
        }
        let ratio = match (rates[0], rates[1], rates[3]) {
            (Some(r), Some(d), Some(m)) => format!("{:.1}× ; {:.1}×", r / m, d / m),
            _ => "—".into(),
        };
        let streams = if shared { "1 stream".to_owned() } else { format!("{writers} streams") };
        let who = if writers == 1 { "1 writer".to_owned() } else { format!("{writers} writers") };
        table.row(format!("ingest, {who} → {streams}"), cells, ratio);
    }

    // (c) FilterLogEvents over one hour (4,000 events), by history stored around it. The history
    // is loaded incrementally (100k, then 1M, ...) into one group per system, in 4,000-event
    // batches of about an hour each, spread evenly over 1 to 10 days back over 4 streams.
    let (sizes, moto_sizes) = if part("c") { (sizes, moto_sizes) } else { (Vec::new(), Vec::new()) };
    if part("c") {
        println!("\n## (c) FilterLogEvents, one-hour window of {WINDOW_EVENTS} events, by events stored");
    }
    let group = format!("moto-bench-{run}-filter");
    let streams: Vec<String> = (0..STREAMS).map(|s| format!("s{s}")).collect();
    let window = now_millis() - 2 * HOUR;
    for s in [System::Logbook, System::Moto].into_iter().filter(|_| part("c")) {
        create(admin(s), &group, &streams).await;
    }
    let loader = |s: System| if s == System::Logbook { targets[1].clone() } else { targets[3].clone() };
    for s in [System::Logbook, System::Moto].into_iter().filter(|_| part("c")) {
        let per = WINDOW_EVENTS / STREAMS;
        for (i, stream) in streams.iter().enumerate() {
            let events = batch(window, HOUR / per as i64, (i * per) as u64, per, 200);
            loader(s).put(&group, stream, &events).await.expect("window batch");
        }
    }
    let mut stored = [WINDOW_EVENTS; 2];
    let mut next_batch = [0usize; 2];
    for phase in 0..sizes.len().max(moto_sizes.len()) {
        let goals = [sizes.get(phase).copied(), moto_sizes.get(phase).copied()];
        let loads = [System::Logbook, System::Moto].map(|s| {
            let i = s as usize;
            let goal = goals[i].unwrap_or(0);
            let wanted = goal.saturating_sub(stored[i]);
            let batches = wanted.div_ceil(LOAD_BATCH);
            let first = next_batch[i];
            let (t, group, streams) = (loader(s), group.clone(), streams.clone());
            async move {
                let started = Instant::now();
                let loaded = AtomicU64::new(0);
                futures::stream::iter(first..first + batches)
                    .for_each_concurrent(4, |b| {
                        // Batch b starts at a low-discrepancy point of days 10..1 back, so any
                        // number of batches is spread evenly and later phases fill the gaps.
                        let frac = (b as f64 * 0.618_033_988_749_895).fract();
                        let start = now_millis() - 10 * DAY + (frac * 9.0 * DAY as f64) as i64;
                        let size = LOAD_BATCH.min(wanted - (b - first) * LOAD_BATCH);
                        let events = batch(start, 1_000, 1_000_000 + (b * LOAD_BATCH) as u64, size, 200);
                        let (t, group, stream, loaded) = (&t, &group, &streams[b % STREAMS], &loaded);
                        async move {
                            t.put(group, stream, &events).await.unwrap_or_else(|e| panic!("load {}: {e}", t.name));
                            loaded.fetch_add(size as u64, Ordering::Relaxed);
                        }
                    })
                    .await;
                (batches, loaded.into_inner() as usize, started.elapsed())
            }
        });
        let [(lb, ln, lt), (mb, mn, mt)] = {
            let [a, b] = loads;
            let (a, b) = tokio::join!(a, b);
            [a, b]
        };
        for (i, (batches, loaded, took)) in [(lb, ln, lt), (mb, mn, mt)].into_iter().enumerate() {
            next_batch[i] += batches;
            stored[i] += loaded;
            if loaded > 0 {
                let who = if i == 0 { "Logbook (/log-events)" } else { "moto" };
                println!(
                    "  loaded {loaded} events into {who} in {:.1} s ({:.0} events/s, 4 loaders); now {} stored",
                    took.as_secs_f64(),
                    loaded as f64 / took.as_secs_f64(),
                    stored[i]
                );
            }
        }
        for (label, pattern) in [("everything", ""), ("term `status=500`", "status=500")] {
            let active: Vec<bool> = targets.iter().map(|t| goals[t.system as usize].is_some()).collect();
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); targets.len()];
            let mut counts = vec![0usize; targets.len()];
            let mut failures = vec![0usize; targets.len()];
            for rep in 0..=filter_n {
                for (k, t) in targets.iter().enumerate().filter(|(k, _)| active[*k]) {
                    match t.filter(&group, window, window + HOUR - 1, pattern).await {
                        Ok((d, c)) => {
                            counts[k] = c;
                            if rep > 0 {
                                times[k].push(d); // rep 0 warms up
                            }
                        }
                        Err(e) => {
                            println!("  FilterLogEvents via {} failed: {e}", t.name);
                            failures[k] += 1;
                        }
                    }
                }
            }
            let p50s: Vec<Option<f64>> = times.iter_mut().map(|v| (!v.is_empty()).then(|| ms(pct(v, 50)))).collect();
            let cells = (0..targets.len())
                .map(|k| match p50s[k] {
                    Some(p50) => format!(
                        "p50 {p50:.1} ms ({} events returned{})",
                        counts[k],
                        if failures[k] > 0 { format!(", {} calls failed", failures[k]) } else { String::new() }
                    ),
                    None if failures[k] > 0 => format!("{} calls failed", failures[k]),
                    None => "—".into(),
                })
                .collect();
            let size = if goals[0] == goals[1] || goals[1].is_none() {
                format!("{}", stored[0])
            } else {
                format!("{} (moto {})", stored[0], stored[1])
            };
            table.row(format!("FilterLogEvents 1 h, {label}, {size} stored"), cells, latency_ratio(&p50s));
        }
    }

    if part("d") {
        dynamodb_floor(&mut table, writers, secs).await;
    }
    table.print();
}

/// What DynamoDB Local itself sustains, in a scratch table (deleted afterwards): sequential
/// latency of the item operations one PutLogEvents makes, and writes per second from `writers`
/// concurrent callers. A PutLogEvents of 100 events is 2 GetItems, 1 PutItem (the chunk), 3
/// UpdateItems on the stream's item and 1 BatchWriteItem (its audit record) — 4 round trips in
/// sequence.
async fn dynamodb_floor(table: &mut Table, writers: usize, secs: u64) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    use logbook_tests::dynamodb;
    println!("\n## (d) DynamoDB Local alone (the one scripts/serve runs), scratch table");
    let ddb = dynamodb();
    let name = format!("moto-bench-scratch-{}", now_millis());
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    ddb.create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .send()
        .await
        .expect("create scratch table (is DynamoDB Local at LOGBOOK_TEST_DYNAMODB?)");
    let seq = Arc::new(AtomicU64::new(0));
    // A chunk of 100 × 200-byte events compresses to roughly 4 KB.
    let blob = AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
        (0..4_096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<u8>>(),
    ));
    let put = {
        let (name, blob, seq) = (name.clone(), blob.clone(), seq.clone());
        move |ddb: aws_sdk_dynamodb::Client, pk: String| {
            let (name, blob, seq) = (name.clone(), blob.clone(), seq.clone());
            async move {
                let sk = seq.fetch_add(1, Ordering::Relaxed).to_string();
                let t = Instant::now();
                ddb.put_item()
                    .table_name(name)
                    .item("pk", AttributeValue::S(pk))
                    .item("sk", AttributeValue::S(sk))
                    .item("data", blob)
                    .send()
                    .await
                    .expect("PutItem");
                t.elapsed()
            }
        }
    };
    let update = {
        let name = name.clone();
        move |ddb: aws_sdk_dynamodb::Client, pk: String| {
            let name = name.clone();
            async move {
                let t = Instant::now();
                ddb.update_item()
                    .table_name(name)
                    .key("pk", AttributeValue::S(pk))
                    .key("sk", AttributeValue::S("meta".into()))
                    .update_expression("SET lastIngestionTime = :i")
                    .expression_attribute_values(":i", AttributeValue::N(now_millis().to_string()))
                    .send()
                    .await
                    .expect("UpdateItem");
                t.elapsed()
            }
        }
    };
    // Sequential latency, one call at a time.
    let (mut puts, mut updates) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        puts.push(put(ddb.clone(), "seq".into()).await);
        updates.push(update(ddb.clone(), "seq".into()).await);
    }
    let cells = |v: String| vec!["—".into(), "—".into(), v, "—".into()];
    table.row(
        "DynamoDB Local PutItem (4 KB) / UpdateItem, sequential".into(),
        cells(format!("p50 {:.1} ms / {:.1} ms", ms(pct(&mut puts, 50)), ms(pct(&mut updates, 50)))),
        "—".into(),
    );
    // Throughput: `writers` callers, each on its own partition key, then all on one item.
    for same_item in [false, true] {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let started = Instant::now();
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let (ddb, put, update) = (ddb.clone(), put.clone(), update.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        lat.push(if same_item {
                            update(ddb.clone(), "one".into()).await
                        } else {
                            put(ddb.clone(), format!("w{w}")).await
                        });
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> =
            futures::future::join_all(tasks).await.into_iter().flat_map(|r| r.expect("task")).collect();
        let rate = lat.len() as f64 / started.elapsed().as_secs_f64();
        let what = if same_item { "UpdateItem on one item" } else { "PutItem (4 KB), one key each" };
        table.row(
            format!("DynamoDB Local {what}, {writers} concurrent"),
            cells(format!(
                "{rate:.0} ops/s (p50 {:.1} ms, p95 {:.1} ms)",
                ms(pct(&mut lat, 50)),
                ms(pct(&mut lat, 95))
            )),
            "—".into(),
        );
    }
    ddb.delete_table().table_name(&name).send().await.expect("delete scratch table");
}
