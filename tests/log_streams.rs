//! Log stream actions through the real aws-sdk-cloudwatchlogs client.
// The spec (boto3 1.9.42) has the per-group tag actions and storedBytes that newer SDKs deprecate.
#![allow(deprecated)]

use logbook_tests::{err, logs_client};

#[tokio::test]
async fn create_describe_delete() {
    let (c, account) = logs_client();
    let missing_group = c.create_log_stream().log_group_name("g").log_stream_name("s").send().await;
    assert_eq!(
        err(missing_group),
        ("ResourceNotFoundException".into(), "The specified log group does not exist.".into())
    );

    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("2026/11/20/[$LATEST]abc #1").send().await.unwrap();
    let again = c.create_log_stream().log_group_name("g").log_stream_name("2026/11/20/[$LATEST]abc #1").send().await;
    assert_eq!(err(again), ("ResourceAlreadyExistsException".into(), "The specified log stream already exists".into()));

    let out = c.describe_log_streams().log_group_name("g").send().await.unwrap();
    let s = &out.log_streams()[0];
    assert_eq!(s.log_stream_name(), Some("2026/11/20/[$LATEST]abc #1"));
    assert_eq!(
        s.arn(),
        Some(format!("arn:aws:logs:us-east-1:{account}:log-group:g:log-stream:2026/11/20/[$LATEST]abc #1").as_str())
    );
    assert!(s.creation_time().unwrap() > 0);
    assert_eq!(s.last_event_timestamp(), None);
    assert_eq!(s.stored_bytes(), Some(0));

    c.delete_log_stream().log_group_name("g").log_stream_name("2026/11/20/[$LATEST]abc #1").send().await.unwrap();
    assert!(c.describe_log_streams().log_group_name("g").send().await.unwrap().log_streams().is_empty());
    let gone = c.delete_log_stream().log_group_name("g").log_stream_name("2026/11/20/[$LATEST]abc #1").send().await;
    assert_eq!(err(gone), ("ResourceNotFoundException".into(), "The specified log stream does not exist.".into()));
    let no_group = c.describe_log_streams().log_group_name("other").send().await;
    assert_eq!(err(no_group).1, "The specified log group does not exist.");
}

#[tokio::test]
async fn validation() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let cases = [
        (
            c.create_log_stream().log_group_name("g").log_stream_name("a:b").send().await.map(|_| ()),
            "InvalidParameterException",
            "1 validation error detected: Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
        ),
        (
            c.create_log_stream().log_group_name("g").log_stream_name("a*").send().await.map(|_| ()),
            "InvalidParameterException",
            "1 validation error detected: Value 'a*' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
        ),
        (
            c.create_log_stream().log_group_name("g").log_stream_name("").send().await.map(|_| ()),
            "InvalidParameterException",
            "1 validation error detected: Value '' at 'logStreamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
    ];
    for (i, (r, code, message)) in cases.into_iter().enumerate() {
        assert_eq!(err(r), (code.to_owned(), message.to_owned()), "case {i}");
    }
    let by_time_with_prefix = c
        .describe_log_streams()
        .log_group_name("g")
        .order_by(logbook_tests::logs::types::OrderBy::LastEventTime)
        .log_stream_name_prefix("a")
        .send()
        .await;
    assert_eq!(
        err(by_time_with_prefix),
        ("InvalidParameterException".into(), "Cannot order by LastEventTime with a logStreamNamePrefix.".into())
    );
    let (code, _) = err(c.describe_log_streams().log_group_name("g").limit(51).send().await);
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = err(c.describe_log_streams().log_group_name("g").next_token("x.y").send().await);
    assert_eq!(code, "InvalidParameterException");
}

#[tokio::test]
async fn pagination_orders_and_prefixes() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let mut names: Vec<String> = (0..130).map(|i| format!("s-{i:03}")).collect();
    names.push("S-upper".into());
    let mut set = tokio::task::JoinSet::new();
    for chunk in names.chunks(17) {
        let (c, chunk) = (c.clone(), chunk.to_vec());
        set.spawn(async move {
            for n in chunk {
                c.create_log_stream().log_group_name("g").log_stream_name(n).send().await.unwrap();
            }
        });
    }
    set.join_all().await;
    names.sort();

    let collect = |desc: bool, order: Option<logbook_tests::logs::types::OrderBy>, prefix: Option<&'static str>| {
        let c = c.clone();
        async move {
            let mut out = Vec::new();
            let mut pages = 0;
            let mut p = c
                .describe_log_streams()
                .log_group_name("g")
                .descending(desc)
                .set_order_by(order)
                .set_log_stream_name_prefix(prefix.map(str::to_owned))
                .limit(50)
                .into_paginator()
                .send();
            while let Some(page) = p.next().await {
                pages += 1;
                out.extend(page.unwrap().log_streams().iter().map(|s| s.log_stream_name().unwrap().to_owned()));
            }
            (out, pages)
        }
    };
    let (asc, pages) = collect(false, None, None).await;
    assert_eq!(asc, names);
    assert_eq!(pages, 3);
    let (desc, _) = collect(true, None, None).await;
    assert_eq!(desc, names.iter().rev().cloned().collect::<Vec<_>>());
    let (pre, _) = collect(false, None, Some("s-1")).await;
    assert_eq!(pre, names.iter().filter(|n| n.starts_with("s-1")).cloned().collect::<Vec<_>>());
    // No events yet: every stream ties on time and the name breaks the tie.
    let (by_time, _) = collect(false, Some(logbook_tests::logs::types::OrderBy::LastEventTime), None).await;
    assert_eq!(by_time, names);
    let (by_time_desc, _) = collect(true, Some(logbook_tests::logs::types::OrderBy::LastEventTime), None).await;
    assert_eq!(by_time_desc, names.iter().rev().cloned().collect::<Vec<_>>());

    // A token is bound to its query's order.
    let first = c.describe_log_streams().log_group_name("g").limit(5).send().await.unwrap();
    let token = first.next_token().unwrap();
    let wrong = c.describe_log_streams().log_group_name("g").descending(true).next_token(token).send().await;
    assert_eq!(err(wrong).1, "The specified nextToken is invalid.");
}

#[tokio::test]
async fn recreated_group_starts_empty() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    for s in ["a", "b"] {
        c.create_log_stream().log_group_name("g").log_stream_name(s).send().await.unwrap();
    }
    let token_holder = c.describe_log_streams().log_group_name("g").limit(1).send().await.unwrap();
    c.delete_log_group().log_group_name("g").send().await.unwrap();
    let (code, _) = err(c.describe_log_streams().log_group_name("g").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    c.create_log_group().log_group_name("g").send().await.unwrap();
    assert!(c.describe_log_streams().log_group_name("g").send().await.unwrap().log_streams().is_empty());
    // A token from the old incarnation does not page the new one.
    let stale = c
        .describe_log_streams()
        .log_group_name("g")
        .limit(1)
        .next_token(token_holder.next_token().unwrap())
        .send()
        .await;
    assert_eq!(err(stale).1, "The specified nextToken is invalid.");
    // And a stream of the old name can be created again.
    c.create_log_stream().log_group_name("g").log_stream_name("a").send().await.unwrap();
}
