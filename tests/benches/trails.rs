//! Trail delivery: how long records take to reach a trail's log group and its log files, and
//! what delivery costs per million records. In process: audit records written as the pipeline
//! writes them (AuditLog) on DynamoDB Local, the table's stream read by the feeder `scripts/serve`
//! runs, the fan-out appending them to the trail's log group, and the worker's trail deliverer
//! writing log files to S3 on the local AWS services (moto).
//!
//! LOGBOOK_TEST_DYNAMODB=http://127.0.0.1:8765 LOGBOOK_TEST_S3=http://127.0.0.1:8766 \
//!   cargo bench -p logbook-tests --bench trails
//! (TRAIL_BENCH_N records, default 10,000, written by 8 writers)

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use logbook_audit::AuditRecord;
use logbook_fanout::{Backoff, Fanout};
use logbook_maintenance::trail::TrailDeliverer;
use logbook_model::TokenCodec;
use logbook_model::cloudtrail::{Trail, TrailRequest};
use logbook_protocol::Identity;
use logbook_storage::audit::AuditLog;
use logbook_storage::work::JobKind;
use logbook_storage::{Meter, now_millis};
use logbook_tests::bench::{call, feed_fanout, percentile};
use logbook_tests::{lambda_request as request, new_account, s3, sns, store};
use serde_json::json;

const WRU_DOLLARS: f64 = 0.625 / 1e6;
const RRU_DOLLARS: f64 = 0.125 / 1e6;
const S3_PUT: f64 = 0.005 / 1e3;
const SNS_PUBLISH: f64 = 0.50 / 1e6;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;

/// A management record as the pipeline writes one (a CreateLogGroup by an IAM user): ~1.1 KB.
fn record(i: usize, account: &str, time: i64) -> AuditRecord {
    let event_id = format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", i, i % 65_536, i % 4096, (i * 7) % 4096, i * 31);
    let group = format!("/app/service-{}/logs-{i}", i % 97);
    let event = json!({
        "eventVersion": "1.09",
        "userIdentity": { "type": "IAMUser", "principalId": "AIDA0123456789ABCDEFG",
            "arn": format!("arn:aws:iam::{account}:user/deployer"), "accountId": account,
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "deployer" },
        "eventTime": logbook_audit::iso8601(time),
        "eventSource": "logs.amazonaws.com",
        "eventName": "CreateLogGroup",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.17",
        "userAgent": "aws-cli/2.22.35 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#logs.create-log-group",
        "requestParameters": { "logGroupName": group },
        "responseElements": null,
        "requestID": format!("{:08x}-aaaa-bbbb-cccc-{:012x}", i, i),
        "eventID": event_id,
        "readOnly": false,
        "resources": [{ "accountId": account, "type": "AWS::Logs::LogGroup",
            "ARN": format!("arn:aws:logs:us-east-1:{account}:log-group:{group}") }],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    AuditRecord {
        event_id,
        event_time: time,
        event_name: "CreateLogGroup".into(),
        event_source: "logs.amazonaws.com".into(),
        read_only: false,
        access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
        username: Some("deployer".into()),
        resources: vec![],
        cloudtrail_event: event.to_string(),
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("TRAIL_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let account = new_account();
    let id = Identity::of(&account, "us-east-1");
    let groups = logbook_log_groups::LogGroups { store: store(), tokens: TokenCodec::new(b"bench") };
    call(&groups, request(&account, "Logs_20140328.CreateLogGroup", r#"{"logGroupName":"trail-logs"}"#.into())).await;
    let bucket = format!("trail-bench-{account}");
    s3().create_bucket().bucket(&bucket).send().await.unwrap();
    let mut trail: Trail = TrailRequest {
        name: Some("bench".into()),
        s3_bucket_name: Some(bucket.clone()),
        cloud_watch_logs_log_group_arn: Some(format!("arn:aws:logs:us-east-1:{account}:log-group:trail-logs:*")),
        cloud_watch_logs_role_arn: Some("arn:aws:iam::123456789012:role/CloudTrail_CloudWatchLogs_Role".into()),
        ..Default::default()
    }
    .into_trail("us-east-1");
    store().create_trail(&id, &trail).await.unwrap();
    trail.is_logging = true;
    trail.start_logging_time = Some(now_millis() - 1000);
    store().start_logging(&id, &trail).await.unwrap();

    // The fan-out, fed from the table's stream, as under scripts/serve.
    let fan_meter = Arc::new(Meter::default());
    let fanout = Arc::new(Fanout {
        store: store().with_meter(fan_meter.clone()),
        targets: logbook_tests::targets(None),
        backoff: Backoff::DEPLOYED,
        scope: Some(account.clone()),
        data_events: false,
    });
    let fan = feed_fanout(fanout, &account).await;

    // n records, as 8 callers' audit sinks write them.
    let audit = Arc::new(AuditLog::new(store()));
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (audit, id, account) = (audit.clone(), id.clone(), account.clone());
        writers.push(tokio::spawn(async move {
            for i in (w..n).step_by(8) {
                audit.write(&id, &record(i, &account, now_millis())).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let written = start.elapsed().as_secs_f64();
    eprintln!("wrote {n} records in {written:.1} s");

    // Wait until the log group holds them all.
    let events = logbook_log_events::LogEvents { store: store(), tokens: TokenCodec::new(b"bench") };
    let stream = format!("{account}_CloudTrail_us-east-1");
    let deadline = Instant::now() + Duration::from_secs(600);
    let lags = loop {
        let mut lags: Vec<f64> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({ "logGroupName": "trail-logs", "logStreamName": stream, "startFromHead": true });
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let page = call(&events, request(&account, "Logs_20140328.GetLogEvents", body.to_string())).await;
            let got = page["events"].as_array().cloned().unwrap_or_default();
            for e in &got {
                lags.push((e["ingestionTime"].as_i64().unwrap() - e["timestamp"].as_i64().unwrap()) as f64);
            }
            let next = page["nextForwardToken"].as_str().map(str::to_owned);
            if got.is_empty() || next == token {
                break;
            }
            token = next;
        }
        if lags.len() >= n || Instant::now() > deadline {
            break lags;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let caught_up = start.elapsed().as_secs_f64();
    let mut lags = lags;
    lags.sort_by(f64::total_cmp);
    let fan_wru = fan_meter.write_units();
    let fan_rru = fan_meter.read_units();
    let fan_inv = fan.invocations.load(Ordering::Relaxed) as f64;
    let fan_busy = fan.busy_micros.load(Ordering::Relaxed) as f64 / 1e6;

    // The worker's log files for the same records: first the reads alone (the baseline), then the
    // whole delivery (reads, gzip, PutObject, progress), in the same process.
    let worker_meter = Arc::new(Meter::default());
    let deliverer = TrailDeliverer {
        store: store().with_meter(worker_meter.clone()),
        s3: s3(),
        sns: sns(),
        interval_ms: 0,
        settle_ms: 0,
        file_records: logbook_maintenance::trail::FILE_RECORDS,
        regions: vec!["us-east-1".into()],
        data_events: false,
    };
    let far = logbook_storage::keys::audit_sort_range(now_millis(), now_millis()).1;
    let floor = logbook_storage::keys::time13(trail.start_logging_time.unwrap());
    let t = Instant::now();
    let mut after = floor.clone();
    let mut read = 0;
    loop {
        let (w, more) = store().audit_window(&account, &["us-east-1".to_owned()], &after, &far, 5_000).await.unwrap();
        read += w.len();
        match (more, w.last()) {
            (true, Some(last)) => after = last.sort.clone(),
            _ => break,
        }
    }
    let read_secs = t.elapsed().as_secs_f64();
    let job = store().jobs(Some(&id)).await.unwrap().into_iter().find(|j| j.kind == JobKind::Trail).unwrap();
    let t = Instant::now();
    deliverer.run(&job, Instant::now() + Duration::from_secs(600)).await.unwrap();
    let deliver_secs = t.elapsed().as_secs_f64();
    let files = s3().list_objects_v2().bucket(&bucket).send().await.unwrap().contents().len() as f64;
    let w_wru = worker_meter.write_units();
    let w_rru = worker_meter.read_units();

    let per_m = 1e6 / n as f64;
    println!("## Trail delivery ({n} records of ~1.1 KB, 8 writers; DynamoDB Local, moto, 2 cores)\n");
    println!(
        "Records written in {written:.1} s ({:.0}/s); all {} in the log group {caught_up:.1} s after the first. \
         Lag from a record's event time to its log event's ingestion: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms.\n",
        n as f64 / written,
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.9),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
    println!(
        "Log files: {read} records read alone in {read_secs:.2} s ({:.0}/s, the baseline); delivered to {files} files \
         in {deliver_secs:.2} s ({:.0}/s, {:.2}× the reads).\n",
        read as f64 / read_secs,
        n as f64 / deliver_secs,
        deliver_secs / read_secs
    );
    let lambda_fan = fan_inv * per_m * LAMBDA_REQUEST + fan_busy * per_m * 0.5 * LAMBDA_GB_SECOND;
    let lambda_worker = deliver_secs * per_m * 0.25 * LAMBDA_GB_SECOND;
    println!("Cost per million records delivered (on-demand prices; what delivery adds to recording them):\n");
    println!("| path | item | per million records | $ |");
    println!("|---|---|---|---|");
    println!(
        "| log group (fan-out) | writes (chunks, stream, hours, status) | {:.0} WRU | {:.3} |",
        fan_wru * per_m,
        fan_wru * per_m * WRU_DOLLARS
    );
    println!(
        "| log group (fan-out) | reads (trails, group, stream) | {:.0} RRU | {:.3} |",
        fan_rru * per_m,
        fan_rru * per_m * RRU_DOLLARS
    );
    println!(
        "| log group (fan-out) | Lambda: {:.0} invocations, {:.0} s at 512 MB | | {:.3} |",
        fan_inv * per_m,
        fan_busy * per_m,
        lambda_fan
    );
    println!(
        "| log files (worker) | reads (audit window) | {:.0} RRU | {:.3} |",
        w_rru * per_m,
        w_rru * per_m * RRU_DOLLARS
    );
    println!(
        "| log files (worker) | writes (claim, progress) | {:.0} WRU | {:.4} |",
        w_wru * per_m,
        w_wru * per_m * WRU_DOLLARS
    );
    println!(
        "| log files (worker) | S3 PUTs, SNS publishes (one per file) | {:.0} | {:.4} |",
        files * per_m,
        files * per_m * (S3_PUT + SNS_PUBLISH)
    );
    println!("| log files (worker) | Lambda: {:.0} s at 256 MB | | {:.4} |", deliver_secs * per_m, lambda_worker);
    let total = fan_wru * per_m * WRU_DOLLARS
        + fan_rru * per_m * RRU_DOLLARS
        + lambda_fan
        + w_rru * per_m * RRU_DOLLARS
        + w_wru * per_m * WRU_DOLLARS
        + files * per_m * (S3_PUT + SNS_PUBLISH)
        + lambda_worker;
    println!("| total | | | {total:.3} |");
    println!(
        "\nA backlog makes files of {} records; at a steady trickle a trail writes one file per region every \
         5 minutes (288 a day: $0.0015 of PUTs, 576 WRU) whatever the volume.",
        logbook_maintenance::trail::FILE_RECORDS
    );
}
