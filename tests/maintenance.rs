//! The background worker against DynamoDB Local: retention changes reach stored chunks' TTLs,
//! sweeps resume from their cursor, and deleted streams and groups are reclaimed. Actions go
//! through aws-sdk-cloudwatchlogs; the items are inspected in the table itself.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use logbook_maintenance::{Report, Worker};
use logbook_protocol::Identity;
use logbook_storage::events::chunk_expiry;
use logbook_storage::keys;
use logbook_storage::work::JobKind;
use logbook_tests::logs::types::{InputLogEvent, MetricTransformation};
use logbook_tests::{dynamodb, logs, logs_client, store};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn identity(account: &str) -> Identity {
    Identity { account_id: account.into(), region: "us-east-1".into(), access_key_id: None, user_name: None }
}

fn worker(account: &str, settle: Duration) -> Worker {
    Worker { store: store(), settle, scope: Some(identity(account)), publisher: None, exporter: None, trails: None }
}

async fn run(w: &Worker, max_writes: usize) -> Report {
    w.run(Instant::now() + Duration::from_secs(60), max_writes).await.unwrap()
}

/// One PutLogEvents per timestamp, so each event is its own chunk.
async fn put(c: &logs::Client, stream: &str, times: &[i64]) {
    for (i, ts) in times.iter().enumerate() {
        let e = InputLogEvent::builder().timestamp(*ts).message(format!("event {i}")).build().unwrap();
        c.put_log_events().log_group_name("g").log_stream_name(stream).log_events(e).send().await.unwrap();
    }
}

/// Every item of a partition.
async fn partition(pk: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let out = dynamodb()
        .query()
        .table_name(store().table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items.unwrap_or_default()
}

fn num(item: &std::collections::HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

async fn stream_id(account: &str, stream: &str) -> String {
    let id = identity(account);
    let group = store().require_group(&id, "g").await.unwrap();
    store().get_stream(&id, &group, stream).await.unwrap().unwrap().id
}

/// Each chunk's (maxTs, expiresAt) in a stream.
async fn ttls(account: &str, stream: &str) -> Vec<(i64, Option<i64>)> {
    let pk = keys::events(&identity(account), &stream_id(account, stream).await);
    partition(&pk).await.iter().map(|i| (num(i, "maxTs").unwrap(), num(i, "expiresAt"))).collect()
}

async fn assert_ttls(account: &str, streams: &[&str], retention: Option<i64>, why: &str) {
    let id = identity(account);
    let group = store().require_group(&id, "g").await.unwrap();
    let hours = partition(&keys::active(&id, &group.id)).await;
    assert!(!hours.is_empty());
    for h in hours {
        let max = num(&h, "maxTs").unwrap();
        assert_eq!(num(&h, "expiresAt"), chunk_expiry(max, retention), "{why}: active hour ending {max}");
    }
    for s in streams {
        let chunks = ttls(account, s).await;
        assert!(!chunks.is_empty());
        for (max, ttl) in chunks {
            assert_eq!(ttl, chunk_expiry(max, retention), "{why}: stream {s}, chunk ending {max}");
        }
    }
}

#[tokio::test]
async fn chunks_carry_the_retention_ttl_and_changes_reach_them() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.put_retention_policy().log_group_name("g").retention_in_days(7).send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    let now = now_ms();
    put(&c, "s", &[now - 5 * DAY, now - 2 * DAY, now - HOUR]).await;
    assert_ttls(&account, &["s"], Some(7), "written with the group's retention").await;
    let ttl = chunk_expiry(now - HOUR, Some(7)).unwrap();
    assert!(ttl > (now - HOUR) / 1000 + 7 * 86_400, "DynamoDB may only delete after the retention");

    // Lengthening: queued with the change, applied by the worker.
    c.put_retention_policy().log_group_name("g").retention_in_days(30).send().await.unwrap();
    let jobs = store().jobs(Some(&identity(&account))).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.kind).collect::<Vec<_>>(), [JobKind::Retention]);
    let w = worker(&account, Duration::ZERO);
    let report = run(&w, usize::MAX).await;
    assert_eq!((report.done, report.writes), (1, 6), "three chunks, three active hours: {report:?}");
    assert_ttls(&account, &["s"], Some(30), "lengthened").await;
    assert!(store().jobs(Some(&identity(&account))).await.unwrap().is_empty());

    // A second run finds nothing to do; re-running a job changes nothing.
    assert_eq!(run(&w, usize::MAX).await, Report::default());

    // Deleting the policy keeps events forever: no TTL at all.
    c.delete_retention_policy().log_group_name("g").send().await.unwrap();
    assert_eq!(run(&w, usize::MAX).await.done, 1);
    assert_ttls(&account, &["s"], None, "retention deleted").await;

    // Shortening: hidden at once on read, TTLs follow in the background.
    c.put_retention_policy().log_group_name("g").retention_in_days(1).send().await.unwrap();
    let page = c.get_log_events().log_group_name("g").log_stream_name("s").start_from_head(true).send().await.unwrap();
    assert_eq!(page.events().len(), 1);
    run(&w, usize::MAX).await;
    assert_ttls(&account, &["s"], Some(1), "shortened").await;
}

#[tokio::test]
async fn a_sweep_resumes_from_its_cursor_and_a_new_change_wins() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let now = now_ms();
    let streams = ["a", "b", "c"];
    for s in streams {
        c.create_log_stream().log_group_name("g").log_stream_name(s).send().await.unwrap();
        put(&c, s, &[now - 3 * DAY, now - DAY]).await;
    }
    assert_ttls(&account, &streams, None, "no retention: no TTL").await;
    c.put_retention_policy().log_group_name("g").retention_in_days(14).send().await.unwrap();

    // One write per run: every run pauses with its place saved, and the next goes on from it.
    let w = worker(&account, Duration::ZERO);
    let first = run(&w, 1).await;
    assert_eq!((first.paused, first.writes), (1, 1), "{first:?}");
    let job = store().jobs(Some(&identity(&account))).await.unwrap().remove(0);
    assert_eq!((job.cursor_stream.as_deref(), job.pass_started.is_some()), (Some("a"), true));
    let mut runs = 1;
    loop {
        let r = run(&w, 1).await;
        runs += 1;
        if r.done == 1 {
            assert_eq!(r.writes, 1, "the last chunk, then the end of the pass: {r:?}");
            break;
        }
        assert_eq!((r.paused, r.writes), (1, 1), "run {runs} made progress: {r:?}");
        assert!(runs < 20, "the sweep never finished");
    }
    assert_eq!(runs, 12, "six chunks and six active hours, one write each, none twice");
    assert_ttls(&account, &streams, Some(14), "swept in pieces").await;

    // Changed again mid-sweep: the job is queued afresh and the last retention wins.
    c.put_retention_policy().log_group_name("g").retention_in_days(3).send().await.unwrap();
    run(&w, 2).await;
    c.put_retention_policy().log_group_name("g").retention_in_days(60).send().await.unwrap();
    let r = run(&w, usize::MAX).await;
    assert_eq!(r.done, 1, "{r:?}");
    assert_ttls(&account, &streams, Some(60), "the newest retention").await;
}

#[tokio::test]
async fn the_last_pass_waits_until_the_change_settles() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    put(&c, "s", &[now_ms() - HOUR]).await;
    c.put_retention_policy().log_group_name("g").retention_in_days(5).send().await.unwrap();
    let w = worker(&account, Duration::from_secs(2));
    let r = run(&w, usize::MAX).await;
    assert_eq!((r.settling, r.writes), (1, 2), "the first pass runs at once: {r:?}");
    assert_ttls(&account, &["s"], Some(5), "first pass").await;
    assert_eq!(run(&w, usize::MAX).await.waiting, 1, "no second pass before the change settles");

    // A write that read the old retention lands after the first pass (as a slow request would).
    let id = identity(&account);
    let mut group = store().require_group(&id, "g").await.unwrap();
    group.retention_in_days = None;
    let stream = store().get_stream(&id, &group, "s").await.unwrap().unwrap();
    let late = logbook_model::events::Event { timestamp: now_ms(), message: "straggler".into() };
    store().put_events(&id, &group, &stream, &[late], now_ms(), "1", None).await.unwrap();
    assert!(ttls(&account, "s").await.iter().any(|(_, ttl)| ttl.is_none()));

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = run(&w, usize::MAX).await;
    assert_eq!((r.done, r.writes), (1, 2), "the last pass fixes the straggler and its hour: {r:?}");
    assert_ttls(&account, &["s"], Some(5), "after settling").await;
}

#[tokio::test]
async fn deleted_streams_and_groups_are_reclaimed() {
    let (c, account) = logs_client();
    let id = identity(&account);
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let now = now_ms();
    for s in ["keep", "drop"] {
        c.create_log_stream().log_group_name("g").log_stream_name(s).send().await.unwrap();
        put(&c, s, &[now - 2 * HOUR, now - HOUR]).await;
    }
    let keep = keys::events(&id, &stream_id(&account, "keep").await);
    let drop = keys::events(&id, &stream_id(&account, "drop").await);
    let group_id = store().require_group(&id, "g").await.unwrap().id;

    c.delete_log_stream().log_group_name("g").log_stream_name("drop").send().await.unwrap();
    assert_eq!(partition(&drop).await.len(), 2, "unreachable at once, reclaimed later");
    let w = worker(&account, Duration::ZERO);
    let r = run(&w, usize::MAX).await;
    assert_eq!((r.done, r.writes), (1, 2), "{r:?}");
    assert!(partition(&drop).await.is_empty());
    assert_eq!(partition(&keep).await.len(), 2, "the other stream is untouched");

    c.put_metric_filter()
        .log_group_name("g")
        .filter_name("errors")
        .filter_pattern("ERROR")
        .metric_transformations(
            MetricTransformation::builder()
                .metric_name("Errors")
                .metric_namespace("App")
                .metric_value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.delete_log_group().log_group_name("g").send().await.unwrap();
    let r = run(&w, usize::MAX).await;
    assert_eq!((r.done, r.writes), (1, 8), "two chunks, the stream, the filter, four active hours: {r:?}");
    assert!(partition(&keys::active(&id, &group_id)).await.is_empty());
    assert!(partition(&keep).await.is_empty());
    assert!(partition(&keys::streams(&id, &group_id)).await.is_empty());
    assert!(partition(&keys::filters(&id, &group_id)).await.is_empty());
    let filters = c.describe_metric_filters().send().await.unwrap();
    assert!(filters.metric_filters().is_empty(), "gone from the account-wide listing too");
    assert!(store().jobs(Some(&id)).await.unwrap().is_empty());

    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("keep").send().await.unwrap();
    let page = c.get_log_events().log_group_name("g").log_stream_name("keep").send().await.unwrap();
    assert!(page.events().is_empty(), "a re-created group starts empty");
}

/// A busy group gets a zstd dictionary trained on its own chunks: the writer asks for it after
/// 1 MB, the worker trains it, later chunks name it and are smaller, every reader decodes old and
/// new chunks alike, and deleting the group reclaims it.
#[tokio::test]
async fn a_busy_group_gets_a_dictionary_its_chunks_shrink_and_read_back() {
    let (c, account) = logs_client();
    let id = identity(&account);
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    let start = now_ms() - HOUR;
    let mut sent = Vec::new();
    let mut batch = |n: u64| -> Vec<InputLogEvent> {
        (0..100)
            .map(|i| {
                let k = n * 100 + i;
                let m = logbook_tests::web_line(k);
                sent.push(m.clone());
                InputLogEvent::builder().timestamp(start + k as i64).message(m).build().unwrap()
            })
            .collect()
    };
    let send = |events: Vec<InputLogEvent>| {
        c.put_log_events().log_group_name("g").log_stream_name("s").set_log_events(Some(events)).send()
    };
    // ~205 B lines: 52 batches pass 1 MB.
    for n in 0..52 {
        send(batch(n)).await.unwrap();
    }
    let jobs = store().jobs(Some(&id)).await.unwrap();
    assert!(jobs.iter().any(|j| j.kind == JobKind::Dictionary), "queued after 1 MB: {jobs:?}");
    assert!(store().require_group(&id, "g").await.unwrap().dictionary.is_none());
    let r = run(&worker(&account, Duration::ZERO), usize::MAX).await;
    assert_eq!(r.done, 1, "{r:?}");
    let group = store().require_group(&id, "g").await.unwrap();
    let dictionary = group.dictionary.clone().expect("trained");
    assert_eq!(partition(&keys::dictionary(&id, &group.id, &dictionary).pk).await.len(), 1);

    for n in 52..62 {
        send(batch(n)).await.unwrap();
    }
    let chunks = partition(&keys::events(&id, &stream_id(&account, "s").await)).await;
    let size = |named: bool| {
        let blobs: Vec<usize> = chunks
            .iter()
            .filter(|i| i.contains_key("dict") == named)
            .map(|i| i["data"].as_b().unwrap().as_ref().len())
            .collect();
        (blobs.len(), blobs.iter().sum::<usize>() / blobs.len().max(1))
    };
    let ((plain, plain_avg), (named, named_avg)) = (size(false), size(true));
    assert_eq!((plain, named), (52, 10));
    assert!(chunks.iter().filter(|i| i.contains_key("dict")).all(|i| i["dict"].as_s().unwrap() == &dictionary));
    assert!(named_avg * 10 < plain_avg * 7, "100 lines: {named_avg} B with the dictionary vs {plain_avg} B");

    // GetLogEvents pages through old and new chunks alike.
    let mut got = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_log_events()
            .log_group_name("g")
            .log_stream_name("s")
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        if page.events().is_empty() {
            break;
        }
        got.extend(page.events().iter().map(|e| e.message().unwrap().to_owned()));
        token = page.next_forward_token().map(str::to_owned);
    }
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "every event back, in order");
    // FilterLogEvents too.
    let want = sent.iter().filter(|m| m.contains("POST")).count();
    let mut found = 0;
    let mut token = None;
    loop {
        let page = c
            .filter_log_events()
            .log_group_name("g")
            .filter_pattern("POST")
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        found += page.events().len();
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert!(want > 0);
    assert_eq!(found, want);

    c.delete_log_group().log_group_name("g").send().await.unwrap();
    run(&worker(&account, Duration::ZERO), usize::MAX).await;
    assert!(partition(&keys::dictionary(&id, &group.id, &dictionary).pk).await.is_empty(), "reclaimed");
}
