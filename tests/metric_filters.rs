//! Metric filters and TestMetricFilter through the real aws-sdk-cloudwatchlogs client.

use std::collections::HashMap;

use logbook_tests::logs::types::MetricTransformation;
use logbook_tests::{err, logs_client, new_account, raw_post, sigv4};

const APACHE: [&str; 3] = [
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#,
];

fn transformation(name: &str, value: &str) -> MetricTransformation {
    MetricTransformation::builder()
        .metric_name(name)
        .metric_namespace("App")
        .metric_value(value)
        .default_value(0.0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn test_metric_filter_answers_as_the_spec_shows() {
    let (c, _) = logs_client();
    let out = c
        .test_metric_filter()
        .filter_pattern("[ip, identity, user_id, timestamp, request, status_code, size]")
        .set_log_event_messages(Some(APACHE.iter().map(|s| s.to_string()).collect()))
        .send()
        .await
        .unwrap();
    let matches = out.matches();
    assert_eq!(matches.len(), 3);
    assert_eq!(matches[0].event_number(), 0, "event numbers are 0-based");
    assert_eq!(matches[1].event_message(), Some(APACHE[1]));
    let want: HashMap<String, String> = [
        ("$ip", "127.0.0.1"),
        ("$identity", "-"),
        ("$user_id", "frank"),
        ("$timestamp", "10/Oct/2000:13:35:22 -0700"),
        ("$request", "GET /apache_pb.gif HTTP/1.0"),
        ("$status_code", "500"),
        ("$size", "5324"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(matches[1].extracted_values().unwrap(), &want);

    // Only the matching events, with positional names for unnamed fields.
    let out = c
        .test_metric_filter()
        .filter_pattern("[..., status_code=5*, size]")
        .set_log_event_messages(Some(APACHE.iter().map(|s| s.to_string()).collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.matches().len(), 1);
    assert_eq!(out.matches()[0].event_number(), 1);
    assert_eq!(out.matches()[0].extracted_values().unwrap().get("$1").map(String::as_str), Some("127.0.0.1"));

    // JSON and term patterns.
    let json = c
        .test_metric_filter()
        .filter_pattern(r#"{ $.level = "ERROR" && $.latency > 100 }"#)
        .log_event_messages(r#"{"level":"ERROR","latency":250}"#)
        .log_event_messages(r#"{"level":"ERROR","latency":50}"#)
        .log_event_messages("not json ERROR")
        .send()
        .await
        .unwrap();
    assert_eq!(json.matches().iter().map(|m| m.event_number()).collect::<Vec<_>>(), [0]);
    let terms = c
        .test_metric_filter()
        .filter_pattern("?frank ?bob")
        .log_event_messages("alice")
        .log_event_messages(APACHE[0])
        .send()
        .await
        .unwrap();
    assert_eq!(terms.matches().iter().map(|m| m.event_number()).collect::<Vec<_>>(), [1]);
}

#[tokio::test]
async fn invalid_patterns_and_requests() {
    let (c, _) = logs_client();
    let bad = c.test_metric_filter().filter_pattern(r#"{ $.a = "x" "#).log_event_messages("m").send().await;
    let (code, message) = err(bad);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("position"), "says where: {message}");
    let too_long = c.test_metric_filter().filter_pattern("a".repeat(1025)).log_event_messages("m").send().await;
    assert_eq!(err(too_long).0, "InvalidParameterException");
    let none = c.test_metric_filter().filter_pattern("x").send().await;
    assert_eq!(err(none).0, "InvalidParameterException");
    let mut many = c.test_metric_filter().filter_pattern("x");
    for i in 0..51 {
        many = many.log_event_messages(format!("m{i}"));
    }
    assert_eq!(err(many.send().await).0, "InvalidParameterException");
}

#[tokio::test]
async fn put_describe_delete() {
    let (c, account) = logs_client();
    let missing = c
        .put_metric_filter()
        .log_group_name("g")
        .filter_name("f")
        .filter_pattern("ERROR")
        .metric_transformations(transformation("Errors", "1"))
        .send()
        .await;
    assert_eq!(err(missing), ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_group().log_group_name("h").send().await.unwrap();

    c.put_metric_filter()
        .log_group_name("g")
        .filter_name("errors")
        .filter_pattern("ERROR")
        .metric_transformations(transformation("Errors", "1"))
        .send()
        .await
        .unwrap();
    c.put_metric_filter()
        .log_group_name("g")
        .filter_name("latency")
        .filter_pattern("{ $.latency > 0 }")
        .metric_transformations(transformation("Latency", "$.latency"))
        .send()
        .await
        .unwrap();
    c.put_metric_filter()
        .log_group_name("h")
        .filter_name("bytes")
        .filter_pattern("[ip, user, status, size]")
        .metric_transformations(transformation("Errors", "$size"))
        .send()
        .await
        .unwrap();

    let by_group = c.describe_metric_filters().log_group_name("g").send().await.unwrap();
    let names: Vec<_> = by_group.metric_filters().iter().map(|f| f.filter_name().unwrap()).collect();
    assert_eq!(names, ["errors", "latency"]);
    let f = &by_group.metric_filters()[1];
    assert_eq!(f.log_group_name(), Some("g"));
    assert_eq!(f.filter_pattern(), Some("{ $.latency > 0 }"));
    assert_eq!(f.metric_transformations()[0].metric_value(), "$.latency");
    assert_eq!(f.metric_transformations()[0].default_value(), Some(0.0));
    let created = f.creation_time().unwrap();
    let group = c.describe_log_groups().log_group_name_prefix("g").send().await.unwrap();
    assert_eq!(group.log_groups()[0].metric_filter_count(), Some(2));

    let prefixed = c.describe_metric_filters().log_group_name("g").filter_name_prefix("lat").send().await.unwrap();
    assert_eq!(prefixed.metric_filters().len(), 1);
    let by_metric = c.describe_metric_filters().metric_name("Errors").metric_namespace("App").send().await.unwrap();
    let pairs: Vec<_> =
        by_metric.metric_filters().iter().map(|f| (f.log_group_name().unwrap(), f.filter_name().unwrap())).collect();
    assert_eq!(pairs, [("h", "bytes"), ("g", "errors")], "across groups, in filter-name order");
    let everything = c.describe_metric_filters().send().await.unwrap();
    assert_eq!(everything.metric_filters().len(), 3);
    let half = c.describe_metric_filters().metric_name("Errors").send().await;
    assert_eq!(err(half).0, "InvalidParameterException");

    // Replacing keeps one filter (and its creation time) and the count.
    c.put_metric_filter()
        .log_group_name("g")
        .filter_name("latency")
        .filter_pattern("{ $.latency > 10 }")
        .metric_transformations(transformation("Latency", "$.latency"))
        .send()
        .await
        .unwrap();
    let again = c.describe_metric_filters().log_group_name("g").filter_name_prefix("latency").send().await.unwrap();
    assert_eq!(again.metric_filters()[0].filter_pattern(), Some("{ $.latency > 10 }"));
    assert_eq!(again.metric_filters()[0].creation_time(), Some(created));
    let group = c.describe_log_groups().log_group_name_prefix("g").send().await.unwrap();
    assert_eq!(group.log_groups()[0].metric_filter_count(), Some(2));

    c.delete_metric_filter().log_group_name("g").filter_name("errors").send().await.unwrap();
    let gone = c.delete_metric_filter().log_group_name("g").filter_name("errors").send().await;
    assert_eq!(err(gone), ("ResourceNotFoundException".into(), "The specified metric filter does not exist.".into()));
    let group = c.describe_log_groups().log_group_name_prefix("g").send().await.unwrap();
    assert_eq!(group.log_groups()[0].metric_filter_count(), Some(1));

    // A deleted and re-created group starts without filters.
    c.delete_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    assert!(c.describe_metric_filters().log_group_name("g").send().await.unwrap().metric_filters().is_empty());
    let _ = account;
}

#[tokio::test]
async fn validation() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let put = |pattern: &str, value: &str, ns: &str| {
        c.put_metric_filter()
            .log_group_name("g")
            .filter_name("f")
            .filter_pattern(pattern)
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_name("M")
                    .metric_namespace(ns)
                    .metric_value(value)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let cases = [
        (err(put("[a, b]", "$c", "App").await).0, "InvalidParameterException"), // not a field of the pattern
        (err(put("ERROR", "$.x", "App").await).0, "InvalidParameterException"),
        (err(put("{ $.a = ", "1", "App").await).0, "InvalidParameterException"),
        (err(put("ERROR", "1", "My*App").await).0, "InvalidParameterException"),
        (err(put("ERROR", &"9".repeat(101), "App").await).0, "InvalidParameterException"),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        assert_eq!(got, want, "case {i}");
    }
    put("[a, b]", "$b", "App").await.unwrap();
    put("[a, ...]", "$2", "App").await.unwrap();
    put("{ $.x > 1 }", "$.x", "App").await.unwrap();
    put("ERROR", "-1.5e3", "App").await.unwrap();

    // Two transformations, or none, are refused.
    let auth = sigv4(&new_account(), "logs");
    let body = r#"{"logGroupName":"g","filterName":"f","filterPattern":"x","metricTransformations":[]}"#;
    let (status, v, _) =
        raw_post("/", &[("x-amz-target", "Logs_20140328.PutMetricFilter"), ("authorization", &auth)], body);
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidParameterException")));
    let t = r#"{"metricName":"a","metricNamespace":"b","metricValue":"1"}"#;
    let body =
        format!(r#"{{"logGroupName":"g","filterName":"f","filterPattern":"x","metricTransformations":[{t},{t}]}}"#);
    let (status, v, _) =
        raw_post("/", &[("x-amz-target", "Logs_20140328.PutMetricFilter"), ("authorization", &auth)], &body);
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidParameterException")));
}

/// Where AWS's recorded answers differ from its documentation, the answers win.
#[tokio::test]
async fn metric_filters_accept_and_refuse_as_aws_answers() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let put = |t: MetricTransformation, pattern: &str| {
        c.put_metric_filter()
            .log_group_name("g")
            .filter_name("f")
            .filter_pattern(pattern)
            .metric_transformations(t)
            .send()
    };
    let base = || MetricTransformation::builder().metric_name("M").metric_namespace("App").metric_value("1");
    // A `$.path` value with a JSON pattern that does not name the path; a namespace with a colon.
    put(base().metric_value("$.value").build().unwrap(), "{ $.val = * }").await.unwrap();
    put(base().metric_namespace("My:App").build().unwrap(), "ERROR").await.unwrap();
    let described = c.describe_metric_filters().log_group_name("g").send().await.unwrap();
    assert_eq!(described.metric_filters()[0].metric_transformations()[0].metric_namespace(), "My:App");
    let by_metric = c.describe_metric_filters().metric_namespace("My:App").metric_name("M").send().await.unwrap();
    assert_eq!(by_metric.metric_filters().len(), 1, "found by a namespace with a colon");
    put(base().unit(logbook_tests::logs::types::StandardUnit::Milliseconds).build().unwrap(), "ERROR").await.unwrap();
    // A unit outside CloudWatch's set, four dimensions, a default value with dimensions.
    let dims = |n: usize| (0..n).map(|i| (format!("d{i}"), format!("$d{i}"))).collect::<HashMap<_, _>>();
    let cases = [
        put(base().unit(logbook_tests::logs::types::StandardUnit::from("Furlongs")).build().unwrap(), "ERROR").await,
        put(base().set_dimensions(Some(dims(4))).build().unwrap(), "[d0, d1, d2, d3]").await,
        put(base().set_dimensions(Some(dims(1))).default_value(0.0).build().unwrap(), "[d0]").await,
    ];
    for (i, r) in cases.into_iter().enumerate() {
        let (code, message) = err(r);
        assert_eq!(code, "InvalidParameterException", "case {i}: {message}");
    }
    put(base().set_dimensions(Some(dims(3))).build().unwrap(), "[d0, d1, d2]").await.unwrap();
}

#[tokio::test]
async fn hundred_per_group_and_an_exact_count_under_concurrency() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for chunk in 0..10 {
        let c = c.clone();
        set.spawn(async move {
            for i in 0..10 {
                c.put_metric_filter()
                    .log_group_name("g")
                    .filter_name(format!("f-{chunk}-{i}"))
                    .filter_pattern("ERROR")
                    .metric_transformations(transformation("Errors", "1"))
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    set.join_all().await;
    let over = c
        .put_metric_filter()
        .log_group_name("g")
        .filter_name("one-more")
        .filter_pattern("x")
        .metric_transformations(transformation("E", "1"))
        .send()
        .await;
    assert_eq!(err(over).0, "LimitExceededException");
    // Replacing an existing filter at the limit is fine.
    c.put_metric_filter()
        .log_group_name("g")
        .filter_name("f-0-0")
        .filter_pattern("WARN")
        .metric_transformations(transformation("E", "1"))
        .send()
        .await
        .unwrap();

    // Concurrent deletes, and concurrent puts of the same names, leave the count exact.
    let mut set = tokio::task::JoinSet::new();
    for chunk in 0..5 {
        let d = c.clone();
        set.spawn(async move {
            for i in 0..10 {
                d.delete_metric_filter()
                    .log_group_name("g")
                    .filter_name(format!("f-{chunk}-{i}"))
                    .send()
                    .await
                    .unwrap();
            }
        });
        let p = c.clone();
        set.spawn(async move {
            for i in 0..10 {
                let name = format!("f-9-{i}");
                p.put_metric_filter()
                    .log_group_name("g")
                    .filter_name(name)
                    .filter_pattern("x")
                    .metric_transformations(transformation("E", "1"))
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    set.join_all().await;
    let mut listed = 0;
    let mut p = c.describe_metric_filters().log_group_name("g").limit(7).into_paginator().send();
    while let Some(page) = p.next().await {
        listed += page.unwrap().metric_filters().len();
    }
    assert_eq!(listed, 50);
    let group = c.describe_log_groups().log_group_name_prefix("g").send().await.unwrap();
    assert_eq!(group.log_groups()[0].metric_filter_count(), Some(50));
}
