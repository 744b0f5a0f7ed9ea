//! Faults lose nothing and duplicate nothing. The group functions run against a proxy in front of
//! DynamoDB Local that throttles, answers 500, and drops connections after forwarding writes;
//! eight writers put batches through aws-sdk-cloudwatchlogs with its standard retries, each into
//! a stream of its own and all into one shared stream. Afterwards every acknowledged event is
//! read back exactly once (through a gateway without faults), and events of calls that were not
//! acknowledged at most once. The background worker then finishes its jobs through the same
//! faults. Figures: docs/reliability.md (`cargo test -p logbook-tests --test faults -- --nocapture`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use logbook_maintenance::Worker;
use logbook_protocol::Identity;
use logbook_storage::keys;
use logbook_tests::faults::{self, Rates};
use logbook_tests::logs::types::InputLogEvent;
use logbook_tests::{
    dynamodb_endpoint, logs, logs_client_at, logs_client_for, new_account, start_gateway, store, store_at,
};

const WRITERS: usize = 8;
const BATCHES: usize = 24;
const PER_BATCH: usize = 20;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Every message of a stream, read through the fault-free gateway.
async fn messages(c: &logs::Client, stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .get_log_events()
            .log_group_name("faults")
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        out.extend(page.events().iter().filter_map(|e| e.message().map(str::to_owned)));
        let next = page.next_forward_token().map(str::to_owned);
        if next == token || page.events().is_empty() {
            return out;
        }
        token = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_faults_exactly_once() {
    // Rates high enough that DynamoDB's own SDK retries (3 tries) sometimes run out, so the
    // function answers 5xx and the client retries the PutLogEvents call itself.
    let rates = Rates { throttle: 0.15, server_error: 0.10, drop_after_write: 0.25 };
    let (proxy, counts) = faults::start(dynamodb_endpoint(), rates, 20261206);
    let errors_before = logbook_tests::SERVER_ERRORS.load(std::sync::atomic::Ordering::Relaxed);
    let faulty = start_gateway(proxy.clone());
    let account = new_account();
    // Set-up through the fault-free gateway: what is measured is the event path.
    let clean = logs_client_for(&account, "us-east-1");
    clean.create_log_group().log_group_name("faults").send().await.unwrap();
    for w in 0..WRITERS {
        clean.create_log_stream().log_group_name("faults").log_stream_name(format!("own-{w}")).send().await.unwrap();
    }
    clean.create_log_stream().log_group_name("faults").log_stream_name("shared").send().await.unwrap();

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let c = logs_client_at(&faulty, &account, "us-east-1");
        tasks.spawn(async move {
            // (message, acknowledged) for every event this writer sent.
            let mut sent: Vec<(String, String, bool)> = Vec::new();
            for b in 0..BATCHES {
                let stream = if b % 2 == 0 { format!("own-{w}") } else { "shared".to_owned() };
                let now = now_ms();
                let events: Vec<InputLogEvent> = (0..PER_BATCH)
                    .map(|i| {
                        InputLogEvent::builder().timestamp(now).message(format!("w{w} b{b} e{i}")).build().unwrap()
                    })
                    .collect();
                let result = c
                    .put_log_events()
                    .log_group_name("faults")
                    .log_stream_name(&stream)
                    .set_log_events(Some(events))
                    .send()
                    .await;
                if let Err(e) = &result {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    assert!(status.is_none_or(|s| s >= 500), "a fault answered as the caller's mistake: {e:?}");
                }
                for i in 0..PER_BATCH {
                    sent.push((stream.clone(), format!("w{w} b{b} e{i}"), result.is_ok()));
                }
            }
            sent
        });
    }
    let mut sent = Vec::new();
    while let Some(r) = tasks.join_next().await {
        sent.extend(r.unwrap());
    }
    let elapsed = started.elapsed();
    let retried = logbook_tests::SERVER_ERRORS.load(std::sync::atomic::Ordering::Relaxed) - errors_before;

    let mut stored: HashMap<String, usize> = HashMap::new();
    let mut streams: Vec<String> = (0..WRITERS).map(|w| format!("own-{w}")).collect();
    streams.push("shared".into());
    for s in &streams {
        for m in messages(&clean, s).await {
            *stored.entry(format!("{s}|{m}")).or_default() += 1;
        }
    }
    let (mut acked, mut lost, mut duplicated, mut unacked_stored) = (0, 0, 0, 0);
    for (stream, message, ok) in &sent {
        let n = stored.get(&format!("{stream}|{message}")).copied().unwrap_or(0);
        if *ok {
            acked += 1;
            if n == 0 {
                lost += 1;
            }
        } else if n == 1 {
            unacked_stored += 1;
        }
        if n > 1 {
            duplicated += 1;
        }
    }
    println!(
        "faults: {WRITERS} writers x {BATCHES} batches x {PER_BATCH} events in {elapsed:.1?}; {}; \
         {retried} PutLogEvents answers were 5xx (the SDK retried them); {acked} of {} events \
         acknowledged, {lost} lost, {duplicated} duplicated, {unacked_stored} of the unacknowledged stored once",
        counts.summary(),
        sent.len()
    );
    assert!(counts.throttled.load(std::sync::atomic::Ordering::Relaxed) > 0, "the proxy throttled nothing");
    assert!(counts.dropped_after_write.load(std::sync::atomic::Ordering::Relaxed) > 0, "no write was dropped");
    assert!(acked > sent.len() / 2, "too few calls got through: {acked} of {}", sent.len());
    assert_eq!((lost, duplicated), (0, 0), "every acknowledged event once, nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_worker_finishes_its_jobs_through_faults() {
    // Harsh: a DynamoDB call fails its three tries about one time in twelve.
    let rates = Rates { throttle: 0.25, server_error: 0.20, drop_after_write: 0.20 };
    let (proxy, counts) = faults::start(dynamodb_endpoint(), rates, 7);
    let account = new_account();
    let c = logs_client_for(&account, "us-east-1");
    // Three groups with streams of many chunks; one gets a retention, one loses a stream, one is
    // deleted.
    for g in ["keep", "trim", "gone"] {
        c.create_log_group().log_group_name(g).send().await.unwrap();
        for s in 0..4 {
            let stream = format!("s{s}");
            c.create_log_stream().log_group_name(g).log_stream_name(&stream).send().await.unwrap();
            for _ in 0..15 {
                let e = InputLogEvent::builder().timestamp(now_ms()).message("x").build().unwrap();
                c.put_log_events().log_group_name(g).log_stream_name(&stream).log_events(e).send().await.unwrap();
            }
        }
    }
    c.put_retention_policy().log_group_name("keep").retention_in_days(7).send().await.unwrap();
    c.delete_log_stream().log_group_name("trim").log_stream_name("s0").send().await.unwrap();
    c.delete_log_group().log_group_name("gone").send().await.unwrap();

    let id = Identity { account_id: account.clone(), region: "us-east-1".into(), access_key_id: None, user_name: None };
    let worker = Worker {
        store: store_at(&proxy, "maintenance"),
        settle: Duration::ZERO,
        scope: Some(id.clone()),
        publisher: None,
        exporter: None,
        trails: None,
    };
    let mut runs = 0;
    let mut failed = 0;
    loop {
        runs += 1;
        let report = worker.run(Instant::now() + Duration::from_secs(30), usize::MAX).await;
        if let Ok(r) = &report {
            failed += r.failed;
        }
        if store().jobs(Some(&id)).await.unwrap().is_empty() {
            break;
        }
        assert!(runs < 200, "the worker did not finish in {runs} runs");
    }
    println!("worker: all jobs done in {runs} runs, {failed} job turns failed and were retried; {}", counts.summary());
    // What the jobs had to do is done.
    let gone = store().get_group(&id, "gone").await.unwrap();
    assert!(gone.is_none());
    let kept = store().get_group(&id, "keep").await.unwrap().unwrap();
    let stream = store().get_stream(&id, &kept, "s0").await.unwrap().unwrap();
    let items = store().db().all(logbook_storage::table::Query::new(keys::events(&id, &stream.id)), 100).await.unwrap();
    assert!(
        items.iter().all(|i| logbook_storage::table::get_n(i, keys::EXPIRES_AT).is_some()),
        "retention reached every chunk"
    );
}
