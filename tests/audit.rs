//! Audit records and LookupEvents through the real SDK clients: a sequence of Logs calls by two
//! principals, then every lookup attribute, time ranges, paging and token misuse.
// The spec (boto3 1.9.42) has the per-group tag actions that newer SDKs deprecate.
#![allow(deprecated)]

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{Event, LookupAttribute, LookupAttributeKey};
use logbook_tests::{err, logs_client, logs_client_for, trail_client_for};
use serde_json::Value;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn attr(key: LookupAttributeKey, value: &str) -> LookupAttribute {
    LookupAttribute::builder().attribute_key(key).attribute_value(value).build().unwrap()
}

async fn lookup(c: &aws_sdk_cloudtrail::Client, since: i64, a: Option<LookupAttribute>) -> Vec<Event> {
    let mut out = Vec::new();
    let mut p = c
        .lookup_events()
        .start_time(DateTime::from_millis(since))
        .set_lookup_attributes(a.map(|a| vec![a]))
        .into_paginator()
        .send();
    while let Some(page) = p.next().await {
        out.extend(page.unwrap().events().iter().cloned());
    }
    out
}

fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event_name().unwrap()).collect()
}

#[tokio::test]
async fn every_call_is_recorded_and_found_by_each_attribute() {
    // Records of earlier runs against a persistent engine are older than this.
    let t0 = now_ms() - 1;
    let ann = logs_client_for("AKIDAUDITA", "us-east-1");
    let ben = logs_client_for("AKIDAUDITB", "us-east-1");
    let reader = trail_client_for("AKIDAUDITR", "us-east-1");

    ann.create_log_group().log_group_name("audit-g").send().await.unwrap();
    ann.create_log_stream().log_group_name("audit-g").log_stream_name("s1").send().await.unwrap();
    ann.describe_log_groups().log_group_name_prefix("audit").send().await.unwrap();
    let failed = ann.delete_log_stream().log_group_name("audit-g").log_stream_name("nope").send().await;
    assert_eq!(err(failed).0, "ResourceNotFoundException");
    ben.tag_log_group().log_group_name("audit-g").tags("k", "v").send().await.unwrap();
    ben.delete_log_group().log_group_name("audit-g").send().await.unwrap();

    let logs_source = Some(attr(LookupAttributeKey::EventSource, "logs.amazonaws.com"));
    let all = lookup(&reader, t0, logs_source.clone()).await;
    assert_eq!(
        names(&all),
        ["DeleteLogGroup", "TagLogGroup", "DeleteLogStream", "DescribeLogGroups", "CreateLogStream", "CreateLogGroup"],
        "newest first"
    );
    let times: Vec<_> = all.iter().map(|e| e.event_time().unwrap().to_millis().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));

    // The record of a call holds what CloudTrail's does.
    let delete = &all[0];
    assert_eq!(delete.username(), Some("ben"));
    assert_eq!(delete.access_key_id(), Some("AKIDAUDITB"));
    assert_eq!(delete.read_only(), Some("false"));
    assert_eq!(delete.event_source(), Some("logs.amazonaws.com"));
    let r = &delete.resources()[0];
    assert_eq!((r.resource_type(), r.resource_name()), (Some("AWS::Logs::LogGroup"), Some("audit-g")));
    let ct: Value = serde_json::from_str(delete.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(ct["eventName"], "DeleteLogGroup");
    assert_eq!(ct["eventID"], delete.event_id().unwrap());
    assert_eq!(ct["userIdentity"]["userName"], "ben");
    assert_eq!(ct["userIdentity"]["arn"], "arn:aws:iam::555566667777:user/ben");
    assert_eq!(ct["userIdentity"]["accountId"], "555566667777");
    assert_eq!(ct["recipientAccountId"], "555566667777");
    assert_eq!(ct["awsRegion"], "us-east-1");
    assert_eq!(ct["requestParameters"]["logGroupName"], "audit-g");
    assert_eq!(ct["eventType"], "AwsApiCall");
    assert_eq!(ct["resources"][0]["ARN"], "arn:aws:logs:us-east-1:555566667777:log-group:audit-g");
    assert!(ct["requestID"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(ct["userAgent"].as_str().is_some_and(|s| s.contains("aws-sdk-rust")), "{}", ct["userAgent"]);

    // A failed call is recorded with its error.
    let failed = all.iter().find(|e| e.event_name() == Some("DeleteLogStream")).unwrap();
    let ct: Value = serde_json::from_str(failed.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(ct["errorCode"], "ResourceNotFoundException");
    assert_eq!(ct["errorMessage"], "The specified log stream does not exist.");

    let cases: Vec<(LookupAttribute, Vec<&str>)> = vec![
        (attr(LookupAttributeKey::EventName, "DeleteLogGroup"), vec!["DeleteLogGroup"]),
        (attr(LookupAttributeKey::Username, "ben"), vec!["DeleteLogGroup", "TagLogGroup"]),
        (
            attr(LookupAttributeKey::AccessKeyId, "AKIDAUDITA"),
            vec!["DeleteLogStream", "DescribeLogGroups", "CreateLogStream", "CreateLogGroup"],
        ),
        (
            attr(LookupAttributeKey::ResourceName, "audit-g"),
            vec!["DeleteLogGroup", "TagLogGroup", "DeleteLogStream", "CreateLogStream", "CreateLogGroup"],
        ),
        (
            attr(LookupAttributeKey::ResourceName, "arn:aws:logs:us-east-1:555566667777:log-group:audit-g"),
            vec!["DeleteLogGroup", "TagLogGroup", "DeleteLogStream", "CreateLogStream", "CreateLogGroup"],
        ),
        (attr(LookupAttributeKey::ResourceType, "AWS::Logs::LogStream"), vec!["DeleteLogStream", "CreateLogStream"]),
        (attr(LookupAttributeKey::EventId, all[3].event_id().unwrap()), vec!["DescribeLogGroups"]),
    ];
    for (a, want) in cases {
        let got = lookup(&reader, t0, Some(a.clone())).await;
        assert_eq!(names(&got), want, "{a:?}");
    }
    // ReadOnly: the reads, including the reader's own earlier lookups; never a write.
    let reads = lookup(&reader, t0, Some(attr(LookupAttributeKey::ReadOnly, "true"))).await;
    assert!(names(&reads).contains(&"DescribeLogGroups") && names(&reads).contains(&"LookupEvents"));
    assert!(reads.iter().all(|e| e.read_only() == Some("true")));
    let writes = lookup(&reader, t0, Some(attr(LookupAttributeKey::ReadOnly, "false"))).await;
    assert_eq!(
        names(&writes),
        ["DeleteLogGroup", "TagLogGroup", "DeleteLogStream", "CreateLogStream", "CreateLogGroup"]
    );

    // LookupEvents records itself too, with the CloudTrail event source.
    let own = lookup(&reader, t0, Some(attr(LookupAttributeKey::EventSource, "cloudtrail.amazonaws.com"))).await;
    assert!(
        !own.is_empty() && own.iter().all(|e| e.event_name() == Some("LookupEvents") && e.username() == Some("reader"))
    );

    // Paging: pages of two give the same events in the same order, each once.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = reader
            .lookup_events()
            .start_time(DateTime::from_millis(t0))
            .lookup_attributes(attr(LookupAttributeKey::EventSource, "logs.amazonaws.com"))
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.events().len() <= 2);
        paged.extend(page.events().iter().map(|e| e.event_id().unwrap().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, all.iter().map(|e| e.event_id().unwrap().to_owned()).collect::<Vec<_>>());

    // A token only works with the parameters it was issued for.
    let first = reader
        .lookup_events()
        .start_time(DateTime::from_millis(t0))
        .lookup_attributes(attr(LookupAttributeKey::EventSource, "logs.amazonaws.com"))
        .max_results(1)
        .send()
        .await
        .unwrap();
    let t = first.next_token().unwrap();
    let other = reader
        .lookup_events()
        .start_time(DateTime::from_millis(t0))
        .lookup_attributes(attr(LookupAttributeKey::Username, "ben"))
        .next_token(t)
        .send()
        .await;
    assert_eq!(err(other).0, "InvalidNextTokenException");
    let garbage = reader.lookup_events().next_token("garbage").send().await;
    assert_eq!(err(garbage).0, "InvalidNextTokenException");

    // Time ranges are inclusive, in whole seconds as CloudTrail keeps them, and bound the result.
    let before = reader
        .lookup_events()
        .start_time(DateTime::from_millis(t0 - 60_000))
        .end_time(DateTime::from_millis(t0 - 1000))
        .lookup_attributes(attr(LookupAttributeKey::Username, "ben"))
        .send()
        .await
        .unwrap();
    // (Earlier runs against a persistent engine may have records there; none of this run's.)
    let ours: Vec<_> = all.iter().map(|e| e.event_id().unwrap()).collect();
    assert!(before.events().iter().all(|e| !ours.contains(&e.event_id().unwrap())));
    let exact = all[0].event_time().unwrap().to_millis().unwrap();
    let at = reader
        .lookup_events()
        .start_time(DateTime::from_millis(exact))
        .end_time(DateTime::from_millis(exact))
        .lookup_attributes(attr(LookupAttributeKey::EventName, "DeleteLogGroup"))
        .send()
        .await
        .unwrap();
    assert_eq!(at.events().len(), 1);

    // Another account sees none of it.
    let (_, stranger_account) = logs_client();
    let stranger = trail_client_for(&stranger_account, "us-east-1");
    assert!(lookup(&stranger, t0, Some(attr(LookupAttributeKey::ResourceName, "audit-g"))).await.is_empty());
}

#[tokio::test]
async fn invalid_lookups() {
    let c = trail_client_for("AKIDAUDITR", "us-east-1");
    let now = now_ms();
    let cases = [
        (err(c.lookup_events().max_results(0).send().await), "InvalidMaxResultsException"),
        (err(c.lookup_events().max_results(51).send().await), "InvalidMaxResultsException"),
        (
            err(c
                .lookup_events()
                .start_time(DateTime::from_millis(now))
                .end_time(DateTime::from_millis(now - 1000))
                .send()
                .await),
            "InvalidTimeRangeException",
        ),
        (
            err(c
                .lookup_events()
                .lookup_attributes(attr(LookupAttributeKey::EventName, "a"))
                .lookup_attributes(attr(LookupAttributeKey::Username, "b"))
                .send()
                .await),
            "InvalidLookupAttributesException",
        ),
        (
            err(c
                .lookup_events()
                .lookup_attributes(attr(LookupAttributeKey::from("Region"), "us-east-1"))
                .send()
                .await),
            "InvalidLookupAttributesException",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got.0, want, "{got:?}");
    }
}

#[tokio::test]
async fn ninety_day_edge() {
    // Records written directly with old times: one just inside the 90 days, one just outside.
    let (_, account) = logs_client();
    let id = logbook_protocol::Identity {
        account_id: account.clone(),
        region: "us-east-1".into(),
        access_key_id: Some(account.clone()),
        user_name: None,
    };
    let log = logbook_storage::audit::AuditLog::new(logbook_tests::store());
    let day = 86_400_000;
    for (name, age) in [("Inside", 90 * day - 60_000), ("Outside", 90 * day + 60_000)] {
        let record = logbook_audit::AuditRecord {
            event_id: format!("edge-{name}"),
            event_time: now_ms() - age,
            event_name: "EdgeEvent".into(),
            event_source: "logs.amazonaws.com".into(),
            read_only: true,
            access_key_id: Some(account.clone()),
            username: Some("root".into()),
            resources: vec![],
            cloudtrail_event: format!("{{\"eventName\":\"EdgeEvent\",\"tag\":\"{name}\"}}"),
        };
        log.write(&id, &record).await.unwrap();
    }
    let c = trail_client_for(&account, "us-east-1");
    let found = c
        .lookup_events()
        .start_time(DateTime::from_millis(now_ms() - 200 * day))
        .lookup_attributes(attr(LookupAttributeKey::EventName, "EdgeEvent"))
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = found.events().iter().map(|e| e.event_id().unwrap()).collect();
    assert_eq!(ids, ["edge-Inside"], "records older than 90 days are hidden even before TTL deletes them");
    let by_default =
        c.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "EdgeEvent")).send().await.unwrap();
    assert_eq!(by_default.events().len(), 1);
}
