//! What the edge costs per request.
//!
//! 1. Signature verification, in-process: the same signed DescribeLogGroups request through the
//!    authenticator in `sigv4` mode (key cached, as on a warm instance) and in `off` mode (parsed,
//!    not verified), interleaved; the difference is what verifying costs in CPU.
//! 2. The one-endpoint router: the same call through `POST /` (router → Lambda Invoke → group
//!    function) and through `POST /log-groups` (straight to the group), against a running
//!    `scripts/serve`, interleaved so both see the same machine state.
//!
//! scripts/serve &   # then:
//! cargo bench -p logbook-tests --bench routing            (LOGBOOK_ENDPOINT, ROUTING_BENCH_N, VERIFY_BENCH_N)

use std::time::{Duration, Instant};

use logbook_tests::logs;

fn client(endpoint: &str) -> logs::Client {
    let conf = logs::Config::builder()
        .behavior_version(logs::config::BehaviorVersion::latest())
        .region(logs::config::Region::new("us-east-1"))
        .credentials_provider(logs::config::Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .endpoint_url(endpoint)
        .build();
    logs::Client::from_conf(conf)
}

fn summary(name: &str, mut v: Vec<Duration>) -> f64 {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    println!(
        "{name:<22} n={:<5} mean {mean:7.2} ms  p50 {:7.2} ms  p95 {:7.2} ms  max {:7.2} ms",
        v.len(),
        ms(v[v.len() / 2]),
        ms(v[v.len() * 95 / 100]),
        ms(v[v.len() - 1]),
    );
    mean
}

/// Part 1: CPU per call of verifying a signature (sigv4) against only parsing it (off).
async fn verification() {
    use logbook_auth::{Auth, Mode};
    use logbook_protocol::pipeline::Authenticate;
    let n: usize = std::env::var("VERIFY_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let account = logbook_tests::new_account();
    let checked = Auth::new(Mode::SigV4, logbook_tests::test_keys());
    let trusting = Auth::new(Mode::Off, logbook_tests::test_keys());
    let big = serde_json::json!({
        "logGroupName": "g", "logStreamName": "s",
        "logEvents": [{ "timestamp": 1, "message": "x".repeat(1_048_000) }],
    })
    .to_string();
    println!("Signature verification, in-process, warm key cache:");
    for (name, target, body, n) in [
        ("DescribeLogGroups", "Logs_20140328.DescribeLogGroups", r#"{"limit":1}"#.to_owned(), n),
        ("PutLogEvents, 1 MB", "Logs_20140328.PutLogEvents", big, n / 100),
    ] {
        let req = logbook_tests::lambda_request(&account, target, body);
        // The first call fills the key cache, as a warm instance's first request does.
        checked.authenticate(&req).await.expect("the request verifies");
        let (mut with, mut without) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..n {
            let t = Instant::now();
            checked.authenticate(&req).await.unwrap();
            with += t.elapsed();
            let t = Instant::now();
            trusting.authenticate(&req).await.unwrap();
            without += t.elapsed();
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{name:<20} n={n:<6} sigv4 {:8.1} µs  off {:8.1} µs  verification +{:.1} µs per call",
            us(with),
            us(without),
            us(with) - us(without)
        );
    }
    println!();
}

#[tokio::main]
async fn main() {
    verification().await;
    let base = std::env::var("LOGBOOK_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    let n: usize = std::env::var("ROUTING_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let routed = client(&base);
    let direct = client(&format!("{base}/log-groups"));
    let _ = routed.create_log_group().log_group_name("routing-bench").send().await;
    // Warm both paths (cold starts are not what this measures).
    for _ in 0..20 {
        routed.describe_log_groups().limit(1).send().await.expect("is scripts/serve running?");
        direct.describe_log_groups().limit(1).send().await.unwrap();
    }
    let (mut via_router, mut straight) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        routed.describe_log_groups().limit(1).send().await.unwrap();
        via_router.push(t.elapsed());
        let t = Instant::now();
        direct.describe_log_groups().limit(1).send().await.unwrap();
        straight.push(t.elapsed());
    }
    println!("DescribeLogGroups through {base}, sequential, warm:");
    let r = summary("POST / (router)", via_router);
    let d = summary("POST /log-groups", straight);
    println!("router hop: +{:.2} ms per request ({:.2}x the direct path)", r - d, r / d);
}
