//! PutLogEvents and GetLogEvents through the real aws-sdk-cloudwatchlogs client.

use aws_sdk_dynamodb::types::AttributeValue;
use logbook_tests::logs::types::InputLogEvent;
use logbook_tests::{err, logs_client};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn ev(ts: i64, m: impl Into<String>) -> InputLogEvent {
    InputLogEvent::builder().timestamp(ts).message(m).build().unwrap()
}

async fn setup(c: &logbook_tests::logs::Client) {
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[tokio::test]
async fn put_validation_and_rejections() {
    let (c, _) = logs_client();
    let put = |events: Vec<InputLogEvent>| {
        c.put_log_events().log_group_name("g").log_stream_name("s").set_log_events(Some(events)).send()
    };
    let missing = put(vec![ev(now_ms(), "x")]).await;
    assert_eq!(err(missing), ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let missing = put(vec![ev(now_ms(), "x")]).await;
    assert_eq!(err(missing), ("ResourceNotFoundException".into(), "The specified log stream does not exist.".into()));
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();

    let now = now_ms();
    let order = put(vec![ev(now, "b"), ev(now - 1, "a")]).await;
    assert_eq!(
        err(order),
        (
            "InvalidParameterException".into(),
            "Log events in a single PutLogEvents request must be in chronological order.".into()
        )
    );
    let span = put(vec![ev(now - DAY - 1000, "a"), ev(now, "b")]).await;
    assert_eq!(err(span).0, "InvalidParameterException");
    let empty = put(vec![ev(now, "")]).await;
    assert_eq!(err(empty).0, "InvalidParameterException");

    // The batch limit is exact: message bytes + 26 per event.
    let per = 1_048_576 / 8 - 26;
    let full: Vec<_> = (0..8).map(|_| ev(now, "x".repeat(per))).collect();
    put(full).await.unwrap();
    let over: Vec<_> = (0..8).map(|i| ev(now, "x".repeat(per + usize::from(i == 0)))).collect();
    assert_eq!(
        err(put(over).await),
        ("InvalidParameterException".into(), "Upload too large: 1048577 bytes exceeds limit of 1048576".into())
    );

    // Too old, too new: rejected one by one, the rest stored.
    let out = put(vec![ev(now - 15 * DAY, "old"), ev(now - HOUR, "ok-1"), ev(now, "ok-2"), ev(now + 3 * HOUR, "new")])
        .await
        .unwrap();
    let info = out.rejected_log_events_info().unwrap();
    assert_eq!(
        (info.too_old_log_event_end_index(), info.too_new_log_event_start_index(), info.expired_log_event_end_index()),
        (Some(0), Some(3), None)
    );
    assert!(out.next_sequence_token().is_some_and(|t| !t.is_empty()));
    c.put_retention_policy().log_group_name("g").retention_in_days(1).send().await.unwrap();
    let out = put(vec![ev(now - 3 * DAY, "expired"), ev(now, "ok-3")]).await.unwrap();
    assert_eq!(out.rejected_log_events_info().unwrap().expired_log_event_end_index(), Some(0));

    // Any sequence token is accepted.
    c.put_log_events()
        .log_group_name("g")
        .log_stream_name("s")
        .sequence_token("whatever")
        .log_events(ev(now, "ok-4"))
        .send()
        .await
        .unwrap();
    let mut small = Vec::new();
    let mut big = 0;
    let mut p =
        c.get_log_events().log_group_name("g").log_stream_name("s").start_from_head(true).into_paginator().send();
    while let Some(page) = p.next().await {
        for e in page.unwrap().events() {
            match e.message().unwrap() {
                m if m.len() < 10 => small.push(m.to_owned()),
                _ => big += 1,
            }
        }
    }
    assert_eq!(small, ["ok-1", "ok-2", "ok-3", "ok-4"], "rejected events were not stored");
    assert_eq!(big, 8);
}

#[tokio::test]
async fn tokens_forward_and_backward() {
    let (c, _) = logs_client();
    setup(&c).await;
    let t0 = now_ms() - HOUR;
    let events: Vec<_> = (0..250).map(|i| ev(t0 + i, format!("event {i:03}"))).collect();
    c.put_log_events().log_group_name("g").log_stream_name("s").set_log_events(Some(events)).send().await.unwrap();
    let get = || c.get_log_events().log_group_name("g").log_stream_name("s").limit(100);

    // Default: the newest page, in time order.
    let newest = get().send().await.unwrap();
    let msgs: Vec<_> = newest.events().iter().map(|e| e.message().unwrap().to_owned()).collect();
    assert_eq!(msgs.first().map(String::as_str), Some("event 150"));
    assert_eq!(msgs.last().map(String::as_str), Some("event 249"));
    assert!(newest.next_forward_token().unwrap().starts_with("f/"));
    assert!(newest.next_backward_token().unwrap().starts_with("b/"));
    // Nothing newer: the same token comes back.
    let f = newest.next_forward_token().unwrap();
    let after = get().next_token(f).send().await.unwrap();
    assert!(after.events().is_empty());
    assert_eq!(after.next_forward_token(), Some(f));

    // Backward to the beginning, then the same token at the end.
    let mut token = newest.next_backward_token().unwrap().to_owned();
    let mut older = Vec::new();
    loop {
        let page = get().next_token(&token).send().await.unwrap();
        if page.events().is_empty() {
            assert_eq!(page.next_backward_token(), Some(token.as_str()));
            break;
        }
        let mut batch: Vec<_> = page.events().iter().map(|e| e.message().unwrap().to_owned()).collect();
        batch.extend(older);
        older = batch;
        token = page.next_backward_token().unwrap().to_owned();
    }
    older.extend(msgs);
    assert_eq!(older, (0..250).map(|i| format!("event {i:03}")).collect::<Vec<_>>());

    // Forward from the head with the SDK's paginator, which stops on the repeated token.
    let mut forward = Vec::new();
    let mut p = get().start_from_head(true).into_paginator().send();
    while let Some(page) = p.next().await {
        forward.extend(page.unwrap().events().iter().map(|e| e.message().unwrap().to_owned()));
    }
    assert_eq!(forward.len(), 250);
    assert_eq!(forward[0], "event 000");

    // startTime inclusive, endTime exclusive; ingestion time present.
    let window = get().start_from_head(true).start_time(t0 + 10).end_time(t0 + 20).send().await.unwrap();
    let w: Vec<_> = window.events().iter().map(|e| e.timestamp().unwrap() - t0).collect();
    assert_eq!(w, (10..20).collect::<Vec<_>>());
    assert!(window.events()[0].ingestion_time().unwrap() >= t0);

    let bad = get().next_token("f/garbage").send().await;
    assert_eq!(err(bad), ("InvalidParameterException".into(), "The specified nextToken is invalid.".into()));
}

#[tokio::test]
async fn pages_are_capped_at_one_megabyte() {
    let (c, _) = logs_client();
    setup(&c).await;
    let now = now_ms();
    for batch in 0..3 {
        let events: Vec<_> =
            (0..4).map(|i| ev(now - 100 + batch * 10 + i, format!("{batch}{i}{}", "z".repeat(200_000)))).collect();
        c.put_log_events().log_group_name("g").log_stream_name("s").set_log_events(Some(events)).send().await.unwrap();
    }
    let first = c.get_log_events().log_group_name("g").log_stream_name("s").start_from_head(true).send().await.unwrap();
    let bytes: usize = first.events().iter().map(|e| e.message().unwrap().len() + 26).sum();
    assert!(bytes <= 1_048_576, "{bytes}");
    assert_eq!(first.events().len(), 5, "five 200 KB events fit in 1 MB, six do not");
    let rest = c
        .get_log_events()
        .log_group_name("g")
        .log_stream_name("s")
        .next_token(first.next_forward_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.events().len(), 5);
}

#[tokio::test]
async fn stream_metadata_and_concurrent_writers() {
    let (c, account) = logs_client();
    // The stream's metadata is settled from its chunks by the fan-out (fed as scripts/serve feeds it).
    let mut feeder = logbook_tests::feeder(&account).await;
    setup(&c).await;
    let base = now_ms() - HOUR;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..8i64 {
        let c = c.clone();
        set.spawn(async move {
            for b in 0..5i64 {
                let events: Vec<_> = (0..20i64).map(|i| ev(base + b * 100 + i, format!("w{w}-b{b}-e{i}"))).collect();
                c.put_log_events()
                    .log_group_name("g")
                    .log_stream_name("s")
                    .set_log_events(Some(events))
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    set.join_all().await;
    let mut seen = Vec::new();
    let mut p = c
        .get_log_events()
        .log_group_name("g")
        .log_stream_name("s")
        .start_from_head(true)
        .limit(37)
        .into_paginator()
        .send();
    while let Some(page) = p.next().await {
        seen.extend(page.unwrap().events().iter().map(|e| (e.timestamp().unwrap(), e.message().unwrap().to_owned())));
    }
    assert_eq!(seen.len(), 800, "every event exactly once");
    let mut unique = seen.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 800);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "in time order across writers");

    // Before the fan-out has run: the first batch's times (a new stream shows them at once).
    let early = c.describe_log_streams().log_group_name("g").send().await.unwrap();
    assert!(early.log_streams()[0].last_event_timestamp().is_some_and(|t| t >= base));
    let fanout = logbook_fanout::Fanout {
        store: logbook_tests::store_for("fanout"),
        targets: logbook_tests::targets(None),
        backoff: logbook_fanout::Backoff::DEPLOYED,
        scope: Some(account.clone()),
        data_events: false,
    };
    logbook_tests::drain(&mut feeder, &fanout).await;
    let s = c.describe_log_streams().log_group_name("g").send().await.unwrap();
    let s = &s.log_streams()[0];
    assert_eq!(s.first_event_timestamp(), Some(base));
    assert_eq!(s.last_event_timestamp(), Some(base + 4 * 100 + 19));
    assert!(s.last_ingestion_time().unwrap() >= base);
    assert!(s.upload_sequence_token().is_some());

    // Ordered by last event time.
    c.create_log_stream().log_group_name("g").log_stream_name("a-quiet").send().await.unwrap();
    let by_time = c
        .describe_log_streams()
        .log_group_name("g")
        .order_by(logbook_tests::logs::types::OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = by_time.log_streams().iter().map(|s| s.log_stream_name().unwrap()).collect();
    assert_eq!(names, ["s", "a-quiet"]);
}

#[tokio::test]
async fn retention_hides_and_deletes_start_empty() {
    let (c, _) = logs_client();
    setup(&c).await;
    let now = now_ms();
    for (ts, m) in [(now - 3 * DAY, "three days"), (now - 2 * DAY, "two days"), (now - HOUR, "recent")] {
        c.put_log_events().log_group_name("g").log_stream_name("s").log_events(ev(ts, m)).send().await.unwrap();
    }
    let messages = || async {
        let r = c.get_log_events().log_group_name("g").log_stream_name("s").start_from_head(true).send().await.unwrap();
        r.events().iter().map(|e| e.message().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(messages().await, ["three days", "two days", "recent"]);
    c.put_retention_policy().log_group_name("g").retention_in_days(1).send().await.unwrap();
    assert_eq!(messages().await, ["recent"], "hidden at once, before any deletion");
    c.delete_retention_policy().log_group_name("g").send().await.unwrap();
    assert_eq!(messages().await, ["three days", "two days", "recent"], "nothing was lost");

    c.delete_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    assert!(messages().await.is_empty(), "a re-created stream starts empty");

    // The group as well, right after writes that let this instance remember its id.
    let put =
        |m: &'static str| c.put_log_events().log_group_name("g").log_stream_name("s").log_events(ev(now, m)).send();
    put("old incarnation").await.unwrap();
    c.delete_log_group().log_group_name("g").send().await.unwrap();
    assert_eq!(
        err(put("into the void").await),
        ("ResourceNotFoundException".into(), "The specified log group does not exist.".into())
    );
    c.create_log_group().log_group_name("g").send().await.unwrap();
    assert_eq!(
        err(put("no stream yet").await),
        ("ResourceNotFoundException".into(), "The specified log stream does not exist.".into())
    );
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    put("reborn").await.unwrap();
    assert_eq!(messages().await, ["reborn"], "a re-created group starts empty");
}

async fn filter_all(
    c: &logbook_tests::logs::Client,
    f: impl Fn(
        logbook_tests::logs::operation::filter_log_events::builders::FilterLogEventsFluentBuilder,
    ) -> logbook_tests::logs::operation::filter_log_events::builders::FilterLogEventsFluentBuilder,
) -> (Vec<(String, i64, String, String)>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut p = f(c.filter_log_events().log_group_name("g")).into_paginator().send();
    while let Some(page) = p.next().await {
        pages += 1;
        for e in page.unwrap().events() {
            out.push((
                e.log_stream_name().unwrap().to_owned(),
                e.timestamp().unwrap(),
                e.message().unwrap().to_owned(),
                e.event_id().unwrap().to_owned(),
            ));
        }
    }
    (out, pages)
}

#[tokio::test]
async fn filter_across_streams_in_time_order() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let t0 = now_ms() - HOUR;
    for (k, s) in ["web-1", "web-2", "worker"].iter().enumerate() {
        c.create_log_stream().log_group_name("g").log_stream_name(*s).send().await.unwrap();
        let events: Vec<_> = (0..30i64)
            .map(|i| {
                let level = if i % 3 == 0 { "ERROR" } else { "INFO" };
                ev(t0 + i * 10 + k as i64, format!(r#"{{"level":"{level}","n":{i},"s":"{s}"}}"#))
            })
            .collect();
        c.put_log_events().log_group_name("g").log_stream_name(*s).set_log_events(Some(events)).send().await.unwrap();
    }
    let (all, _) = filter_all(&c, |b| b).await;
    assert_eq!(all.len(), 90);
    assert!(all.windows(2).all(|w| w[0].1 <= w[1].1), "time order across streams");

    let (errors, pages) = filter_all(&c, |b| b.filter_pattern(r#"{ $.level = "ERROR" }"#).limit(7)).await;
    assert_eq!(errors.len(), 30);
    assert!(pages >= 5, "pages of 7: {pages}");
    assert!(errors.iter().all(|e| e.2.contains("ERROR")));
    let mut ids: Vec<_> = errors.iter().map(|e| e.3.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "event ids are unique");
    let (again, _) = filter_all(&c, |b| b.filter_pattern(r#"{ $.level = "ERROR" }"#)).await;
    assert_eq!(
        again.iter().map(|e| &e.3).collect::<Vec<_>>(),
        errors.iter().map(|e| &e.3).collect::<Vec<_>>(),
        "stable ids"
    );

    let (named, _) =
        filter_all(&c, |b| b.log_stream_names("worker").log_stream_names("web-2").filter_pattern("ERROR")).await;
    assert_eq!(named.len(), 20);
    assert!(named.iter().all(|e| e.0 != "web-1"));
    let (prefixed, _) = filter_all(&c, |b| b.log_stream_name_prefix("web").filter_pattern("ERROR")).await;
    assert!(prefixed.iter().all(|e| e.0.starts_with("web")) && prefixed.len() == 20);
    let (window, _) = filter_all(&c, |b| b.start_time(t0 + 100).end_time(t0 + 110)).await;
    let mut got: Vec<_> = window.iter().map(|e| e.1 - t0).collect();
    got.sort();
    assert_eq!(got, [100, 101, 102, 110], "startTime and endTime inclusive");

    let both =
        c.filter_log_events().log_group_name("g").log_stream_names("web-1").log_stream_name_prefix("w").send().await;
    assert_eq!(err(both).0, "InvalidParameterException");
    let bad = c.filter_log_events().log_group_name("g").filter_pattern("{ $.level = ").send().await;
    assert_eq!(err(bad).0, "InvalidParameterException");
    let forged = c.filter_log_events().log_group_name("g").next_token("nope").send().await;
    assert_eq!(err(forged).1, "The specified nextToken is invalid.");
    let missing = c.filter_log_events().log_group_name("nope").send().await;
    assert_eq!(err(missing).0, "ResourceNotFoundException");
}

#[tokio::test]
async fn filter_scans_are_bounded_and_resumable() {
    let (c, _) = logs_client();
    setup(&c).await;
    let t0 = now_ms() - HOUR;
    for b in 0..3i64 {
        let events: Vec<_> = (0..10_000i64).map(|i| ev(t0 + b * 10_000 + i, format!("e{}", b * 10_000 + i))).collect();
        c.put_log_events().log_group_name("g").log_stream_name("s").set_log_events(Some(events)).send().await.unwrap();
    }
    let first = c.filter_log_events().log_group_name("g").filter_pattern("e29999").send().await.unwrap();
    assert!(first.events().is_empty(), "the needle lies beyond one call's scan");
    assert!(first.next_token().is_some());
    let (found, pages) = filter_all(&c, |b| b.filter_pattern("e29999")).await;
    assert_eq!(found.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), ["e29999"]);
    assert!(pages >= 2);
}

#[tokio::test]
async fn filter_over_a_window_reads_only_the_streams_active_in_it() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let now = now_ms();
    // 30 streams wrote two days ago; three of them, and one more, also wrote in the last hour.
    for i in 0..30 {
        let s = format!("quiet-{i:02}");
        c.create_log_stream().log_group_name("g").log_stream_name(&s).send().await.unwrap();
        c.put_log_events()
            .log_group_name("g")
            .log_stream_name(&s)
            .log_events(ev(now - 2 * DAY, "old"))
            .send()
            .await
            .unwrap();
    }
    c.create_log_stream().log_group_name("g").log_stream_name("busy").send().await.unwrap();
    for s in ["quiet-03", "quiet-17", "quiet-29", "busy"] {
        let e = vec![ev(now - 30 * 60_000, format!("{s} ERROR a")), ev(now - 60_000, format!("{s} INFO b"))];
        c.put_log_events().log_group_name("g").log_stream_name(s).set_log_events(Some(e)).send().await.unwrap();
    }
    let window = |f: logbook_tests::logs::operation::filter_log_events::builders::FilterLogEventsFluentBuilder| {
        f.start_time(now - HOUR).end_time(now)
    };
    let out = window(c.filter_log_events().log_group_name("g")).send().await.unwrap();
    let mut searched: Vec<_> = out.searched_log_streams().iter().map(|s| s.log_stream_name().unwrap()).collect();
    searched.sort();
    assert_eq!(searched, ["busy", "quiet-03", "quiet-17", "quiet-29"], "only streams with events in the window");
    assert_eq!(out.events().len(), 8);
    let (errors, _) = filter_all(&c, |f| window(f).filter_pattern("ERROR")).await;
    let mut names: Vec<_> = errors.iter().map(|e| e.0.as_str()).collect();
    names.sort();
    assert_eq!(names, ["busy", "quiet-03", "quiet-17", "quiet-29"]);
    let (prefixed, _) = filter_all(&c, |f| window(f).log_stream_name_prefix("quiet-1")).await;
    assert_eq!(prefixed.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), ["quiet-17 ERROR a", "quiet-17 INFO b"]);
    // Two days back, every stream has an event; a deleted one is no longer searched.
    c.delete_log_stream().log_group_name("g").log_stream_name("quiet-05").send().await.unwrap();
    let (old, _) = filter_all(&c, |f| f.start_time(now - 2 * DAY - HOUR).end_time(now - DAY)).await;
    assert_eq!(old.len(), 29);
}

/// Today's AWS takes events of up to 1 MB (the whole batch). One that does not compress is larger
/// than a DynamoDB item: it is stored as a chunk plus part items and reads back whole, in order.
#[tokio::test]
async fn one_megabyte_events_span_items_and_read_back_whole() {
    let (c, account) = logs_client();
    setup(&c).await;
    let now = now_ms();
    // Letters from a PRNG: ~6 bits each, so zstd leaves ~3/4 of the megabyte.
    let mut x = 88_172_645_463_325_252u64;
    let noise: String = (0..1_048_550 - 5)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(x % 64) as usize])
        })
        .collect();
    let big = format!("BIG1 {noise}");
    assert_eq!(big.len() + 26, 1_048_576);
    let put = |events: Vec<InputLogEvent>| {
        c.put_log_events().log_group_name("g").log_stream_name("s").set_log_events(Some(events)).send()
    };
    put(vec![ev(now - 2, "before")]).await.unwrap();
    put(vec![ev(now - 1, big.clone())]).await.unwrap();
    put(vec![ev(now, "after")]).await.unwrap();
    let over = put(vec![ev(now, format!("{big}x"))]).await;
    assert_eq!(
        err(over),
        ("InvalidParameterException".into(), "Upload too large: 1048577 bytes exceeds limit of 1048576".into())
    );

    // Stored over several items, each under DynamoDB's 400 KB, each with the chunk's TTL once a
    // retention is set and the background worker has moved them.
    let id = logbook_protocol::Identity {
        account_id: account.clone(),
        region: "us-east-1".into(),
        access_key_id: None,
        user_name: None,
    };
    c.put_retention_policy().log_group_name("g").retention_in_days(7).send().await.unwrap();
    let worker = logbook_maintenance::Worker {
        store: logbook_tests::store(),
        settle: std::time::Duration::ZERO,
        scope: Some(id.clone()),
        publisher: None,
        exporter: None,
        trails: None,
    };
    worker.run(std::time::Instant::now() + std::time::Duration::from_secs(60), 1_000).await.unwrap();
    let store = logbook_tests::store();
    let group = store.require_group(&id, "g").await.unwrap();
    let stream = store.get_stream(&id, &group, "s").await.unwrap().unwrap();
    let items: Vec<_> = logbook_tests::dynamodb()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(logbook_storage::keys::events(&id, &stream.id)))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let kind = |i: &std::collections::HashMap<String, AttributeValue>| i["type"].as_s().unwrap().clone();
    let parts = items.iter().filter(|i| kind(i) == "part").count();
    assert!(parts >= 2, "a ~790 KB frame needs its chunk item and at least two parts: {parts}");
    for i in &items {
        let size: usize = i.iter().map(|(k, v)| k.len() + v.as_b().map_or(16, |b| b.as_ref().len())).sum();
        assert!(size < 350 * 1024, "{} item of {size} bytes", kind(i));
        let max: i64 = i["maxTs"].as_n().unwrap().parse().unwrap();
        let ttl: i64 = i["expiresAt"].as_n().unwrap().parse().unwrap();
        assert_eq!(Some(ttl), logbook_storage::events::chunk_expiry(max, Some(7)), "{} item", kind(i));
    }

    // Forward through the SDK's paginator: a 1 MB page holds the big event alone.
    let mut seen = Vec::new();
    let mut p =
        c.get_log_events().log_group_name("g").log_stream_name("s").start_from_head(true).into_paginator().send();
    while let Some(page) = p.next().await {
        seen.extend(page.unwrap().events().iter().map(|e| e.message().unwrap().to_owned()));
    }
    assert_eq!(seen.len(), 3);
    assert_eq!((seen[0].as_str(), seen[2].as_str()), ("before", "after"));
    assert!(seen[1] == big, "the 1 MB event reads back byte for byte");

    // Backward from the end, and found by FilterLogEvents.
    let newest = c.get_log_events().log_group_name("g").log_stream_name("s").send().await.unwrap();
    assert_eq!(newest.events().len(), 1, "'after' and the big event exceed 1 MB together");
    let older = c
        .get_log_events()
        .log_group_name("g")
        .log_stream_name("s")
        .next_token(newest.next_backward_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(older.events().len() == 1 && older.events()[0].message() == Some(big.as_str()));
    let found = c.filter_log_events().log_group_name("g").filter_pattern("BIG1").send().await.unwrap();
    assert_eq!(found.events().len(), 1);
    assert!(found.events()[0].message() == Some(big.as_str()));
}

/// An SDK retries a PutLogEvents whose answer it never got with the same body and the same
/// `amz-sdk-invocation-id`: the events are stored once. Another call carrying the same events
/// (another invocation id) is kept too, as AWS keeps it.
#[tokio::test]
async fn a_retried_put_is_stored_once_and_another_call_twice() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    // Big enough for several chunks of equal content: each must still be its own.
    let per = 1_048_576 / 8 - 26;
    let events: Vec<serde_json::Value> =
        (0..8).map(|_| serde_json::json!({ "timestamp": now, "message": "z".repeat(per) })).collect();
    let body = serde_json::json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": events }).to_string();
    let auth = logbook_tests::sigv4(&account, "logs");
    let put = |invocation: &'static str| {
        logbook_tests::raw_post(
            "/",
            &[
                ("x-amz-target", "Logs_20140328.PutLogEvents"),
                ("amz-sdk-invocation-id", invocation),
                ("authorization", &auth),
            ],
            &body,
        )
    };
    for invocation in ["11111111-aaaa", "11111111-aaaa", "11111111-aaaa", "22222222-bbbb"] {
        let (status, v, _) = put(invocation);
        assert_eq!(status, 200, "{v}");
    }
    let mut stored = 0;
    let mut p =
        c.get_log_events().log_group_name("g").log_stream_name("s").start_from_head(true).into_paginator().send();
    while let Some(page) = p.next().await {
        stored += page.unwrap().events().len();
    }
    assert_eq!(stored, 16, "three attempts of one call store its 8 events once; the other call's 8 are kept");
}

/// A stream fed as shippers feed it: 16 writers at once, small batches, for a while; read from
/// head to tail with the SDK's paginator, every event comes back once, in time order (and
/// FilterLogEvents over the whole window agrees).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_stream_reads_back_whole_and_in_order() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("busy").send().await.unwrap();
    c.create_log_stream().log_group_name("busy").log_stream_name("s").send().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..16 {
        let c = c.clone();
        writers.spawn(async move {
            let mut sent = Vec::new();
            let mut b = 0;
            while std::time::Instant::now() < deadline {
                let now =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
                let events: Vec<InputLogEvent> = (0..20)
                    .map(|i| {
                        InputLogEvent::builder()
                            .timestamp(now + i / 5)
                            .message(format!("w{w} b{b} e{i}"))
                            .build()
                            .unwrap()
                    })
                    .collect();
                c.put_log_events()
                    .log_group_name("busy")
                    .log_stream_name("s")
                    .set_log_events(Some(events))
                    .send()
                    .await
                    .unwrap();
                sent.extend((0..20).map(|i| format!("w{w} b{b} e{i}")));
                b += 1;
            }
            sent
        });
    }
    let mut sent = std::collections::HashSet::new();
    while let Some(r) = writers.join_next().await {
        sent.extend(r.unwrap());
    }
    assert!(sent.len() > 2_000, "only {} events written", sent.len());
    let mut read = Vec::new();
    let mut last_ts = i64::MIN;
    let mut pages = c
        .get_log_events()
        .log_group_name("busy")
        .log_stream_name("s")
        .start_from_head(true)
        .limit(500)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for e in page.unwrap().events() {
            assert!(e.timestamp().unwrap() >= last_ts, "out of time order");
            last_ts = e.timestamp().unwrap();
            read.push(e.message().unwrap().to_owned());
        }
    }
    let unique: std::collections::HashSet<_> = read.iter().cloned().collect();
    assert_eq!(unique.len(), read.len(), "an event came back twice");
    assert_eq!(unique, sent, "every event, once");
    let mut filtered = 0;
    let mut pages = c.filter_log_events().log_group_name("busy").into_paginator().send();
    while let Some(page) = pages.next().await {
        filtered += page.unwrap().events().len();
    }
    assert_eq!(filtered, sent.len());
}

/// A chunk can start well before the window a read asks for and still hold events inside it.
/// Reads look back as far as the widest chunk the stream has (its `maxSpan`), or, for a stream
/// stored before that was recorded, as far as the widest chunk of the hours concerned.
#[tokio::test]
async fn reads_find_events_of_chunks_that_start_before_the_window() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("wide").send().await.unwrap();
    c.create_log_stream().log_group_name("wide").log_stream_name("s").send().await.unwrap();
    let base = now_ms() - 50 * 60_000;
    let put = |events: Vec<InputLogEvent>| {
        c.put_log_events().log_group_name("wide").log_stream_name("s").set_log_events(Some(events)).send()
    };
    put((0..5).map(|i| ev(base + i * 1000, format!("a{i}"))).collect()).await.unwrap();
    // One batch, one chunk, spanning 40 minutes.
    put(vec![ev(base + 10_000, "w1"), ev(base + 40 * 60_000, "w2")]).await.unwrap();
    put((0..5).map(|i| ev(base + 20 * 60_000 + i * 1000, format!("b{i}"))).collect()).await.unwrap();

    let check = |label: &'static str| {
        let c = c.clone();
        async move {
            let get = |from_head: bool, start: Option<i64>, limit: i32| {
                c.get_log_events()
                    .log_group_name("wide")
                    .log_stream_name("s")
                    .start_from_head(from_head)
                    .set_start_time(start)
                    .limit(limit)
                    .send()
            };
            let messages = |events: &[logbook_tests::logs::types::OutputLogEvent]| {
                events.iter().map(|e| e.message().unwrap().to_owned()).collect::<Vec<_>>()
            };
            for from_head in [true, false] {
                let late = get(from_head, Some(base + 30 * 60_000), 100).await.unwrap();
                assert_eq!(messages(late.events()), ["w2"], "{label}: window after the wide chunk's start");
                let mid = get(from_head, Some(base + 15 * 60_000), 100).await.unwrap();
                assert_eq!(messages(mid.events()), ["b0", "b1", "b2", "b3", "b4", "w2"], "{label}");
            }
            let newest = get(false, None, 2).await.unwrap();
            assert_eq!(messages(newest.events()), ["b4", "w2"], "{label}: newest page");
            let filtered =
                c.filter_log_events().log_group_name("wide").start_time(base + 30 * 60_000).send().await.unwrap();
            let got: Vec<_> = filtered.events().iter().map(|e| e.message().unwrap()).collect();
            assert_eq!(got, ["w2"], "{label}: FilterLogEvents");
        }
    };
    check("with maxSpan").await;

    // The same stream as stored before `maxSpan` existed.
    let id = logbook_protocol::Identity {
        account_id: account.clone(),
        region: "us-east-1".into(),
        access_key_id: None,
        user_name: None,
    };
    let store = logbook_tests::store();
    let group = store.require_group(&id, "wide").await.unwrap();
    let stream = store.get_stream(&id, &group, "s").await.unwrap().unwrap();
    assert!(stream.max_span.is_some_and(|m| m >= 40 * 60_000 - 10_000), "the stream records its widest chunk");
    let key = logbook_storage::keys::stream(&id, &group.id, "s");
    logbook_tests::dynamodb()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(key.pk))
        .key("sk", AttributeValue::S(key.sk))
        .update_expression("REMOVE maxSpan")
        .send()
        .await
        .unwrap();
    check("without maxSpan").await;
}
