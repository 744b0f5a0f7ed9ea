//! Metric filters produce metrics: events put through the real aws-sdk-cloudwatchlogs client,
//! read from DynamoDB Local's stream by the feeder `scripts/serve` runs, evaluated by the
//! fan-out, published by the worker's publisher to the local CloudWatch (moto), and read back
//! with GetMetricStatistics. Crashes between publishing and confirming do not double-count.
//! (boto3 reads the same metrics back through `scripts/serve` in tests/e2e.)

use std::time::{Duration, Instant};

use logbook_delivery::cloudwatch::CloudWatch;
use logbook_fanout::{Backoff, Fanout};
use logbook_local_streams::{Feeder, Start};
use logbook_maintenance::publish::{Crash, Published, Publisher};
use logbook_model::datapoints::{Bucket, MINUTE_MS, Stat};
use logbook_tests::logs::types::builders::MetricTransformationBuilder;
use logbook_tests::logs::types::{InputLogEvent, MetricTransformation, StandardUnit};
use logbook_tests::logs_client;
use serde_json::Value;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn ev(ts: i64, m: &str) -> InputLogEvent {
    InputLogEvent::builder().timestamp(ts).message(m).build().unwrap()
}

fn cloudwatch() -> CloudWatch {
    CloudWatch::at(&logbook_tests::aws_config(), Some(logbook_tests::s3_endpoint()))
}

fn publisher(crash: Option<Crash>) -> Publisher {
    Publisher {
        store: logbook_tests::store_for("maintenance"),
        cloudwatch: cloudwatch(),
        recover_after: Duration::ZERO,
        lease: Duration::from_millis(500),
        crash,
    }
}

/// Runs publishers until nothing is pending (another test's publisher may hold the lease).
async fn publish() -> Published {
    let mut total = Published::default();
    for _ in 0..100 {
        let p = publisher(None).run(Instant::now() + Duration::from_secs(30)).await.unwrap();
        total.calls += p.calls;
        total.datapoints += p.datapoints;
        total.recovered += p.recovered;
        if !p.waiting && logbook_tests::store().pending_metric_deltas(1).await.unwrap().is_empty() {
            return total;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("metric deltas still pending");
}

async fn feeder(account: &str) -> Feeder {
    let table = logbook_tests::store().table().to_owned();
    Feeder::new(&logbook_tests::dynamodb_endpoint(), &table, None, Start::Latest, Some(account.to_owned()))
        .await
        .unwrap()
}

/// Feeds the fan-out until the stream has had nothing new for a moment.
async fn drain(feeder: &mut Feeder, fanout: &Fanout) {
    let sink = |event: Value| async move {
        let out = fanout.handle(&event).await;
        if std::env::var("DEBUG_FANOUT").is_ok() {
            eprintln!("{out}");
        }
        Ok::<Value, String>(out)
    };
    let mut quiet = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while quiet < 3 {
        assert!(Instant::now() < deadline, "the fan-out kept failing (DEBUG_FANOUT=1 RUST_LOG=warn shows why)");
        if feeder.poll(&sink).await.unwrap() == 0 {
            quiet += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            quiet = 0;
        }
    }
}

fn bucket(ns: &str, metric: &str, dims: &[(&str, &str)], unit: &str, minute: i64) -> Bucket {
    Bucket {
        namespace: ns.into(),
        metric: metric.into(),
        dimensions: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        unit: Some(unit.into()),
        minute,
    }
}

/// (SampleCount, Sum, Minimum, Maximum) CloudWatch holds, or None.
async fn stats(b: &Bucket) -> Option<(f64, f64, f64, f64)> {
    cloudwatch().statistics(b).await.unwrap().map(|s: Stat| (s.n, s.sum, s.min, s.max))
}

fn transformation(ns: &str, name: &str, value: &str, unit: StandardUnit) -> MetricTransformationBuilder {
    MetricTransformation::builder().metric_namespace(ns).metric_name(name).metric_value(value).unit(unit)
}

#[tokio::test]
async fn metric_filters_publish_each_event_once() {
    if std::env::var("DEBUG_FANOUT").is_ok() {
        logbook_protocol::init_tracing();
    }
    let (c, account) = logs_client();
    let ns = format!("LogbookTest/{account}");
    let fanout = Fanout {
        store: logbook_tests::store_for("fanout"),
        targets: logbook_tests::targets(None),
        backoff: Backoff { attempts: 2, first: Duration::from_millis(50), max: Duration::from_millis(100) },
        scope: Some(account.clone()),
        data_events: false,
    };
    let mut feed = feeder(&account).await;
    c.create_log_group().log_group_name("app").send().await.unwrap();
    c.create_log_stream().log_group_name("app").log_stream_name("s").send().await.unwrap();
    let put_filter = |name: &str, pattern: &str, t: MetricTransformationBuilder| {
        let t = t.build().unwrap();
        c.put_metric_filter().log_group_name("app").filter_name(name).filter_pattern(pattern).metric_transformations(t)
    };
    put_filter("errors", "ERROR", transformation(&ns, "Errors", "1", StandardUnit::Count)).send().await.unwrap();
    put_filter("latency", "{ $.latency > 0 }", transformation(&ns, "Latency", "$.latency", StandardUnit::Milliseconds))
        .send()
        .await
        .unwrap();
    let bytes = transformation(&ns, "Bytes", "$size", StandardUnit::Bytes).dimensions("Status", "$status");
    put_filter("bytes", "[ip, user, status, size]", bytes).send().await.unwrap();
    let quiet = transformation(&ns, "Panics", "1", StandardUnit::Count).default_value(0.0);
    put_filter("panics", "PANIC", quiet).send().await.unwrap();

    // Two minutes of events, half an hour ago (datapoints carry the events' minutes).
    let m0 = now_ms() - 30 * MINUTE_MS;
    let m0 = m0 - m0.rem_euclid(MINUTE_MS);
    let m1 = m0 + MINUTE_MS;
    c.put_log_events()
        .log_group_name("app")
        .log_stream_name("s")
        .set_log_events(Some(vec![
            ev(m0 + 1_000, "ERROR disk full"),
            ev(m0 + 2_000, r#"{"latency": 12.5, "path": "/a"}"#),
            ev(m0 + 3_000, r#"{"latency": 7.5, "path": "/b"}"#),
            ev(m0 + 4_000, r#"{"latency": "slow"}"#),
            ev(m0 + 5_000, "10.0.0.1 alice 200 100"),
            ev(m0 + 6_000, "10.0.0.2 bob 200 300"),
            ev(m0 + 7_000, "10.0.0.3 carol 404 -"),
            ev(m0 + 8_000, "10.0.0.4 dave 500 50"),
            ev(m0 + 59_000, "ERROR again"),
            ev(m1 + 1_000, "ERROR next minute"),
            ev(m1 + 2_000, "PANIC at the disco"),
        ]))
        .send()
        .await
        .unwrap();
    // A filter created after the events were stored does not backfill.
    put_filter("late", "ERROR", transformation(&ns, "Late", "1", StandardUnit::Count)).send().await.unwrap();
    drain(&mut feed, &fanout).await;
    let first = publish().await;
    assert!(first.calls >= 1 && first.datapoints >= 7, "{first:?}");

    let count = StandardUnit::Count.as_str();
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m0)).await, Some((2.0, 2.0, 1.0, 1.0)));
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m1)).await, Some((1.0, 1.0, 1.0, 1.0)));
    assert_eq!(stats(&bucket(&ns, "Latency", &[], "Milliseconds", m0)).await, Some((2.0, 20.0, 7.5, 12.5)));
    assert_eq!(stats(&bucket(&ns, "Bytes", &[("Status", "200")], "Bytes", m0)).await, Some((2.0, 400.0, 100.0, 300.0)));
    assert_eq!(stats(&bucket(&ns, "Bytes", &[("Status", "500")], "Bytes", m0)).await, Some((1.0, 50.0, 50.0, 50.0)));
    assert_eq!(stats(&bucket(&ns, "Bytes", &[("Status", "404")], "Bytes", m0)).await, None, "no number, no datum");
    // defaultValue: the minute with events and no PANIC publishes 0 once; the one with a PANIC, 1.
    assert_eq!(stats(&bucket(&ns, "Panics", &[], count, m0)).await, Some((1.0, 0.0, 0.0, 0.0)));
    assert_eq!(stats(&bucket(&ns, "Panics", &[], count, m1)).await, Some((1.0, 1.0, 1.0, 1.0)));
    assert_eq!(stats(&bucket(&ns, "Late", &[], count, m0)).await, None, "no backfill");

    // The same chunks handled again (a retried batch): nothing new to publish.
    let mut again = Feeder::new(
        &logbook_tests::dynamodb_endpoint(),
        logbook_tests::store().table(),
        None,
        Start::TrimHorizon,
        Some(account.clone()),
    )
    .await
    .unwrap();
    drain(&mut again, &fanout).await;
    publish().await;
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m0)).await, Some((2.0, 2.0, 1.0, 1.0)), "counted once");

    // A publisher that dies after CloudWatch took its call but before confirming it: the next
    // one sees the call landed and does not send it again.
    let m2 = m1 + MINUTE_MS;
    let put = |ts: i64, n: usize| {
        c.put_log_events()
            .log_group_name("app")
            .log_stream_name("s")
            .set_log_events(Some((0..n).map(|i| ev(ts + i as i64, "ERROR crash test")).collect()))
            .send()
    };
    put(m2, 3).await.unwrap();
    drain(&mut feed, &fanout).await;
    let crashed = publisher(Some(Crash::AfterCall)).run(Instant::now() + Duration::from_secs(30)).await;
    assert!(crashed.is_err(), "the injected crash");
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m2)).await, Some((3.0, 3.0, 1.0, 1.0)), "it landed");
    tokio::time::sleep(Duration::from_millis(600)).await; // the dead publisher's lease runs out
    let recovered = publish().await;
    assert_eq!(recovered.recovered, 1, "{recovered:?}");
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m2)).await, Some((3.0, 3.0, 1.0, 1.0)), "not twice");

    // One that dies after recording its flight, before any call: the next one sends it.
    let m3 = m2 + MINUTE_MS;
    put(m3, 2).await.unwrap();
    drain(&mut feed, &fanout).await;
    assert!(publisher(Some(Crash::BeforeCall)).run(Instant::now() + Duration::from_secs(30)).await.is_err());
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m3)).await, None, "not sent yet");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let recovered = publish().await;
    assert_eq!(recovered.recovered, 1, "{recovered:?}");
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m3)).await, Some((2.0, 2.0, 1.0, 1.0)), "sent once");

    // A deleted filter stops publishing.
    c.delete_metric_filter().log_group_name("app").filter_name("errors").send().await.unwrap();
    let m4 = m3 + MINUTE_MS;
    put(m4, 2).await.unwrap();
    drain(&mut feed, &fanout).await;
    publish().await;
    assert_eq!(stats(&bucket(&ns, "Errors", &[], count, m4)).await, None);
    assert_eq!(
        stats(&bucket(&ns, "Late", &[], count, m4)).await,
        Some((2.0, 2.0, 1.0, 1.0)),
        "the late one counts now"
    );
}
