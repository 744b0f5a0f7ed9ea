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

/// Data events (PutLogEvents, GetLogEvents, FilterLogEvents) are not recorded unless
/// `LOGBOOK_AUDIT_DATA_EVENTS` asks (CloudTrail's event history shows management events only);
/// management calls around them are.
#[tokio::test]
async fn data_events_are_not_recorded_by_default() {
    assert!(!logbook_audit::data_events_enabled(), "the tests run with the default");
    let t0 = now_ms() - 1;
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("data-g").send().await.unwrap();
    c.create_log_stream().log_group_name("data-g").log_stream_name("s").send().await.unwrap();
    let e = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(now_ms()).message("m").build().unwrap();
    c.put_log_events().log_group_name("data-g").log_stream_name("s").log_events(e).send().await.unwrap();
    c.get_log_events().log_group_name("data-g").log_stream_name("s").send().await.unwrap();
    c.filter_log_events().log_group_name("data-g").send().await.unwrap();
    c.test_metric_filter().filter_pattern("m").log_event_messages("m").send().await.unwrap();
    let reader = trail_client_for(&account, "us-east-1");
    let mut got = names(&lookup(&reader, t0, None).await).into_iter().map(str::to_owned).collect::<Vec<_>>();
    got.sort();
    assert_eq!(got, ["CreateLogGroup", "CreateLogStream", "TestMetricFilter"]);
}

/// What one record costs, as DynamoDB reports it: a management call with one resource 3 write
/// units (the record and its two index entries), without one 2; a CreateLogGroup with its record
/// at most 8. The record and every lookup of it still work.
#[tokio::test]
async fn a_management_record_costs_three_write_units() {
    use logbook_protocol::{Action, Call, Identity};
    let account = logbook_tests::new_account();
    let id = Identity {
        account_id: account.clone(),
        region: "us-east-1".into(),
        access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
        user_name: Some("deployer".into()),
    };
    let meter = std::sync::Arc::new(logbook_storage::Meter::default());
    let log = logbook_storage::audit::AuditLog::new(logbook_tests::store().with_meter(meter.clone()));
    let ua = "aws-cli/2.22.35 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0-1017-aws md/arch#x86_64 lang/python#3.12.6 \
              md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off \
              md/command#logs.create-log-group";
    let call = |action: Action, body: &str| {
        let mut c = Call::new(action, id.clone(), uuid::Uuid::new_v4().to_string(), body.as_bytes().to_vec());
        c.user_agent = Some(ua.to_owned());
        c.source_ip = Some("203.0.113.17".into());
        c
    };
    // The first record of the day also writes the day marker: measure the ones after it.
    let first = call(Action::DescribeLogGroups, "{}");
    log.write(&id, &logbook_audit::build(&first, &Ok(Value::Null), now_ms())).await.unwrap();
    let mut cases = vec![
        (Action::CreateLogGroup, r#"{"logGroupName":"/aws/lambda/my-function-name"}"#.to_owned(), 3.0),
        (Action::PutRetentionPolicy, r#"{"logGroupName":"app","retentionInDays":30}"#.to_owned(), 3.0),
        (Action::DescribeLogGroups, r#"{"logGroupNamePrefix":"/aws/","limit":50}"#.to_owned(), 2.0),
    ];
    cases.push((Action::DeleteLogStream, r#"{"logGroupName":"app","logStreamName":"web-1"}"#.to_owned(), 4.0));
    let mut ids = Vec::new();
    for (action, body, max) in &cases {
        meter.reset();
        let record = logbook_audit::build(&call(*action, body), &Ok(Value::Null), now_ms());
        log.write(&id, &record).await.unwrap();
        let wru = meter.write_units();
        assert!(wru <= *max, "{action:?}: {wru} WRU (at most {max})");
        ids.push((action.name(), record.event_id.clone()));
    }
    let reader = trail_client_for(&account, "us-east-1");
    for (name, event_id) in &ids {
        let by_id = lookup(&reader, now_ms() - 60_000, Some(attr(LookupAttributeKey::EventId, event_id))).await;
        assert_eq!(names(&by_id), [*name], "{event_id}");
        let by_name = lookup(&reader, now_ms() - 60_000, Some(attr(LookupAttributeKey::EventName, name))).await;
        assert!(by_name.iter().any(|e| e.event_id() == Some(event_id.as_str())), "{name}");
    }
    // The stream, a second resource, by name and by ARN.
    let arn = format!("arn:aws:logs:us-east-1:{account}:log-group:app:log-stream:web-1");
    for v in ["web-1", arn.as_str()] {
        let found = lookup(&reader, now_ms() - 60_000, Some(attr(LookupAttributeKey::ResourceName, v))).await;
        assert_eq!(names(&found), ["DeleteLogStream"], "{v}");
    }
    let by_user = lookup(&reader, now_ms() - 60_000, Some(attr(LookupAttributeKey::Username, "deployer"))).await;
    assert_eq!(by_user.len(), 5);
}

/// Records in the earlier layout (plain attributes, one pointer item per attribute value and per
/// event id) are still found, by every attribute, next to new ones.
#[tokio::test]
async fn records_in_the_earlier_layout_are_still_found() {
    use logbook_storage::keys;
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("new-style").send().await.unwrap();
    let id = logbook_protocol::Identity::of(&account, "us-east-1");
    let t = now_ms() - 5_000;
    let event_id = "3d3b5a2c-8a41-4b7e-9c3a-1f0e2d4c5b6a";
    let group_arn = format!("arn:aws:logs:us-east-1:{account}:log-group:old-style");
    let record = logbook_audit::AuditRecord {
        event_id: event_id.into(),
        event_time: t,
        event_name: "CreateLogGroup".into(),
        event_source: "logs.amazonaws.com".into(),
        read_only: false,
        access_key_id: Some(account.clone()),
        username: Some("root".into()),
        resources: vec![logbook_audit::Resource {
            resource_type: "AWS::Logs::LogGroup".into(),
            name: "old-style".into(),
            arn: group_arn.clone(),
        }],
        cloudtrail_event: r#"{"eventName":"CreateLogGroup","old":true}"#.into(),
    };
    // Written as the layout before this one wrote it.
    let day = logbook_audit::day(t);
    let shard = keys::audit_shard(event_id);
    let sort = keys::audit_sort(t, event_id);
    let rpk = keys::audit_records(&id, &day, shard);
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    let mut items = Vec::new();
    let mut item = logbook_storage::table::to_item(&record).unwrap();
    item.insert("pk".into(), s(&rpk));
    item.insert("sk".into(), s(&sort));
    item.insert("type".into(), s("audit"));
    items.push(item);
    let pointer = |pk: String, sk: String| {
        let mut p = std::collections::HashMap::new();
        p.insert("pk".to_owned(), s(&pk));
        p.insert("sk".to_owned(), s(&sk));
        p.insert("rpk".to_owned(), s(&rpk));
        p.insert("rsk".to_owned(), s(&sort));
        p
    };
    let ev = keys::audit_event(&id, event_id);
    items.push(pointer(ev.pk, ev.sk));
    for (k, v) in [
        ("EventName", "CreateLogGroup"),
        ("ResourceName", "old-style"),
        ("ResourceName", group_arn.as_str()),
        ("ResourceType", "AWS::Logs::LogGroup"),
    ] {
        items.push(pointer(keys::audit_index(&id, k, &day, shard, v), sort.clone()));
    }
    let mut marker = keys::audit_legacy_day(&id, &day).item();
    marker.insert("x".into(), s("y"));
    items.push(marker);
    logbook_tests::store().db().batch_put(items).await.unwrap();

    let reader = trail_client_for(&account, "us-east-1");
    let since = t - 60_000;
    let ids = |events: &[Event]| events.iter().map(|e| e.event_id().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&lookup(&reader, since, Some(attr(LookupAttributeKey::EventId, event_id))).await), [event_id]);
    for v in ["old-style", group_arn.as_str()] {
        assert_eq!(ids(&lookup(&reader, since, Some(attr(LookupAttributeKey::ResourceName, v))).await), [event_id]);
    }
    let by_name = lookup(&reader, since, Some(attr(LookupAttributeKey::EventName, "CreateLogGroup"))).await;
    let got: Vec<String> = by_name.iter().map(|e| e.resources()[0].resource_name().unwrap().to_owned()).collect();
    assert_eq!(got, ["new-style", "old-style"], "new and old records, newest first");
    let by_type = lookup(&reader, since, Some(attr(LookupAttributeKey::ResourceType, "AWS::Logs::LogGroup"))).await;
    assert_eq!(by_type.len(), 2);
    // Everything (the lookups above are recorded too): both records, the old one as it was.
    let all = lookup(&reader, since, None).await;
    let created: Vec<&Event> = all.iter().filter(|e| e.event_name() == Some("CreateLogGroup")).collect();
    assert_eq!(created.len(), 2);
    assert_eq!(created[1].cloud_trail_event(), Some(r#"{"eventName":"CreateLogGroup","old":true}"#));
    assert_eq!(all.iter().filter(|e| e.event_name() == Some("LookupEvents")).count(), 5);
}
