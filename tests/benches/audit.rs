//! What auditing costs, and whether LookupEvents grows with history.
//!
//! 1. The same call through the real pipeline with the DynamoDB-backed audit sink and with none,
//!    interleaved call by call: the added latency per call.
//! 2. LookupEvents latency in accounts holding different amounts of history (records spread over
//!    90 days): it should stay flat, since a lookup reads only the days and shards it needs.
//!
//! Needs DynamoDB Local with the table (scripts/test starts one; or scripts/serve's on 8000):
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8000 cargo bench -p logbook-tests --bench audit
//! (AUDIT_BENCH_N calls per variant, LOOKUP_BENCH_SIZES=10000,100000 records per account)

use std::time::{Duration, Instant};

use lambda_http::Request;
use logbook_audit::AuditRecord;
use logbook_auth::{Auth, KeySource, Mode};
use logbook_model::TokenCodec;
use logbook_protocol::Identity;
use logbook_protocol::pipeline::{AuditSink, Dispatch, NoAudit, handle};
use logbook_storage::audit::AuditLog;
use logbook_tests::{lambda_request as request, new_account, store};

async fn timed<D: Dispatch, A: AuditSink>(group: &D, audit: &A, req: Request) -> Duration {
    // Signatures unchecked, as before verification landed: this measures auditing alone.
    let ids = Auth::new(Mode::Off, KeySource::Chain(Vec::new()));
    let t = Instant::now();
    let resp = handle(group, &ids, audit, req).await;
    let d = t.elapsed();
    assert!(resp.status().is_success(), "{:?}", resp.body());
    d
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64, ms(v[v.len() / 2]), ms(v[v.len() * 95 / 100]))
}

fn row(name: &str, v: Vec<Duration>) -> f64 {
    let n = v.len();
    let (mean, p50, p95) = stats(v);
    println!("| {name} | {n} | {mean:.2} ms | {p50:.2} ms | {p95:.2} ms |");
    mean
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("AUDIT_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let sizes: Vec<usize> = std::env::var("LOOKUP_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let groups = logbook_log_groups::LogGroups { store: store(), tokens: TokenCodec::new(b"bench") };
    let audit = AuditLog::new(store());

    println!("## audit cost per call (in-process pipeline, DynamoDB Local)\n");
    println!("| call | n | mean | p50 | p95 |\n|---|---|---|---|---|");
    let account = new_account();
    let describe = || request(&account, "Logs_20140328.DescribeLogGroups", "{}".into());
    for _ in 0..20 {
        timed(&groups, &audit, describe()).await;
    }
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let (mut cwith, mut cwithout) = (Vec::new(), Vec::new());
    for i in 0..n {
        with.push(timed(&groups, &audit, describe()).await);
        without.push(timed(&groups, &NoAudit, describe()).await);
        let create = |tag: &str| {
            request(&account, "Logs_20140328.CreateLogGroup", format!(r#"{{"logGroupName":"g-{tag}-{i}"}}"#))
        };
        cwith.push(timed(&groups, &audit, create("a")).await);
        cwithout.push(timed(&groups, &NoAudit, create("n")).await);
    }
    let a = row("DescribeLogGroups, audited", with);
    let b = row("DescribeLogGroups, not audited", without);
    let c = row("CreateLogGroup, audited", cwith);
    let d = row("CreateLogGroup, not audited", cwithout);
    println!(
        "\nadded by auditing: DescribeLogGroups +{:.2} ms ({:.2}x), CreateLogGroup +{:.2} ms ({:.2}x)\n",
        a - b,
        a / b,
        c - d,
        c / d
    );

    // Write units, as DynamoDB reports them: a CreateLogGroup with its record, and the record
    // alone (the day marker written first, as a warm instance has).
    let meter = std::sync::Arc::new(logbook_storage::Meter::default());
    let metered_groups =
        logbook_log_groups::LogGroups { store: store().with_meter(meter.clone()), tokens: TokenCodec::new(b"bench") };
    let metered_audit = AuditLog::new(store().with_meter(meter.clone()));
    timed(&metered_groups, &metered_audit, describe()).await;
    let (mut call_wru, mut record_wru, mut describe_wru) = (0.0, 0.0, 0.0);
    let rounds = 20;
    for i in 0..rounds {
        let body = format!(r#"{{"logGroupName":"/aws/lambda/function-{i}"}}"#);
        meter.reset();
        timed(&metered_groups, &metered_audit, request(&account, "Logs_20140328.CreateLogGroup", body.clone())).await;
        call_wru += meter.write_units();
        meter.reset();
        timed(
            &metered_groups,
            &NoAudit,
            request(&account, "Logs_20140328.CreateLogGroup", body.replace("function", "plain")),
        )
        .await;
        record_wru -= meter.write_units();
        meter.reset();
        timed(&metered_groups, &metered_audit, describe()).await;
        describe_wru += meter.write_units();
    }
    record_wru += call_wru;
    let r = f64::from(rounds);
    println!(
        "write units: CreateLogGroup with its record {:.1} WRU (the record {:.1}); DescribeLogGroups' record {:.1} WRU\n",
        call_wru / r,
        record_wru / r,
        describe_wru / r
    );

    println!("## LookupEvents latency by history size (records over 90 days)\n");
    println!("| history | lookup | n | mean | p50 | p95 |\n|---|---|---|---|---|---|");
    let lookup = logbook_lookup::Lookup { store: store(), tokens: TokenCodec::new(b"bench") };
    let now = logbook_storage::now_millis();
    for size in sizes {
        let account = new_account();
        let id = Identity {
            account_id: account.clone(),
            region: "us-east-1".into(),
            access_key_id: Some(account.clone()),
            user_name: None,
        };
        let t = Instant::now();
        let step = (89 * 86_400_000) / size as i64;
        let mut written = 0;
        while written < size {
            let batch: Vec<_> = (written..(written + 64).min(size))
                .map(|i| {
                    let names = ["CreateLogGroup", "DescribeLogGroups", "PutLogEvents", "DeleteLogStream"];
                    AuditRecord {
                        event_id: format!("{i:08}-bench"),
                        event_time: now - i as i64 * step,
                        event_name: names[i % names.len()].into(),
                        event_source: "logs.amazonaws.com".into(),
                        read_only: i % 4 == 1,
                        access_key_id: None,
                        username: None,
                        resources: vec![],
                        cloudtrail_event: format!(r#"{{"eventName":"{}","n":{i}}}"#, names[i % names.len()]),
                    }
                })
                .collect();
            let writes = batch.iter().map(|r| audit.write(&id, r));
            for r in futures::future::join_all(writes).await {
                r.unwrap();
            }
            written += batch.len();
        }
        eprintln!("wrote {size} records in {:.1?}", t.elapsed());
        let bodies = [
            ("newest 50", "{}".to_owned()),
            (
                "EventName, newest 50",
                r#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"PutLogEvents"}]}"#.to_owned(),
            ),
            (
                "one day, 45 days ago",
                format!(
                    r#"{{"StartTime":{},"EndTime":{}}}"#,
                    (now - 45 * 86_400_000) / 1000,
                    (now - 44 * 86_400_000) / 1000
                ),
            ),
        ];
        for (name, body) in bodies {
            let mut v = Vec::new();
            for _ in 0..30 {
                let req = request(&account, "CloudTrail_20131101.LookupEvents", body.clone());
                v.push(timed(&lookup, &NoAudit, req).await);
            }
            let (mean, p50, p95) = stats(v);
            println!("| {size} | {name} | 30 | {mean:.2} ms | {p50:.2} ms | {p95:.2} ms |");
        }
    }
}
