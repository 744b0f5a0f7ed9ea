//! Subscription filters and destinations through the real aws-sdk-cloudwatchlogs client, and
//! their delivery for real: Kinesis and Firehose on the local AWS services (moto), read back with
//! aws-sdk-kinesis and aws-sdk-s3. The fan-out is fed from DynamoDB Local's stream by the same
//! feeder `scripts/serve` runs (in process here, scoped to the test's account). Lambda targets are
//! covered end to end through `scripts/serve` and `cargo lambda watch` (tests/e2e).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use logbook_fanout::{Backoff, Fanout};
use logbook_local_streams::{Feeder, Start};
use logbook_tests::logs::types::InputLogEvent;
use logbook_tests::{aws_config, err, logs_client, logs_client_for, new_account};
use serde_json::Value;

const ROLE: &str = "arn:aws:iam::123456789012:role/logbook-delivery-target";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn ev(ts: i64, m: impl Into<String>) -> InputLogEvent {
    InputLogEvent::builder().timestamp(ts).message(m).build().unwrap()
}

fn kinesis() -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&aws_config())
}

fn firehose() -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::new(&aws_config())
}

fn s3() -> aws_sdk_s3::Client {
    logbook_tests::s3()
}

async fn kinesis_stream(name: &str) -> String {
    kinesis().create_stream().stream_name(name).shard_count(1).send().await.unwrap();
    format!("arn:aws:kinesis:us-east-1:123456789012:stream/{name}")
}

/// A Firehose stream that writes to a fresh bucket (moto writes each batch at once).
async fn firehose_stream(name: &str) -> (String, String) {
    let bucket = name.to_ascii_lowercase();
    s3().create_bucket().bucket(&bucket).send().await.unwrap();
    firehose()
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .role_arn(ROLE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"), bucket)
}

fn gunzip_all(bytes: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s
}

/// Every message written to a Kinesis stream, in order.
async fn kinesis_messages(name: &str) -> Vec<Value> {
    let k = kinesis();
    let shards = k.list_shards().stream_name(name).send().await.unwrap();
    let mut out = Vec::new();
    for shard in shards.shards() {
        let mut it = k
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_owned);
        while let Some(i) = it {
            let r = k.get_records().shard_iterator(i).send().await.unwrap();
            if r.records().is_empty() {
                break;
            }
            for rec in r.records() {
                out.push(serde_json::from_str(&gunzip_all(rec.data().as_ref())).unwrap());
            }
            it = r.next_shard_iterator().map(str::to_owned);
        }
    }
    out
}

/// Every message Firehose wrote to `bucket`: each object is multi-member gzip of JSON objects
/// written back to back.
async fn firehose_messages(bucket: &str) -> Vec<Value> {
    let list = s3().list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut keys: Vec<String> = list.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let body = s3().get_object().bucket(bucket).key(&key).send().await.unwrap().body.collect().await.unwrap();
        let text = gunzip_all(&body.into_bytes());
        for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            out.push(v.unwrap());
        }
    }
    out
}

fn data_messages(all: &[Value]) -> Vec<&Value> {
    all.iter().filter(|m| m["messageType"] == "DATA_MESSAGE").collect()
}

/// The fan-out a test drives, on the test's account only.
fn fanout(account: &str, targets: logbook_delivery::Targets, backoff: Backoff) -> Fanout {
    Fanout {
        store: logbook_tests::store_for("fanout"),
        targets,
        backoff,
        scope: Some(account.to_owned()),
        data_events: false,
    }
}

const QUICK: Backoff = Backoff { attempts: 2, first: Duration::from_millis(50), max: Duration::from_millis(100) };

async fn feeder(account: &str, state: Option<std::path::PathBuf>) -> Feeder {
    let table = logbook_tests::store().table().to_owned();
    Feeder::new(&logbook_tests::dynamodb_endpoint(), &table, state, Start::Latest, Some(account.to_owned()))
        .await
        .unwrap()
}

/// Feeds the fan-out until the stream has had nothing new for a moment.
async fn drain(feeder: &mut Feeder, fanout: &Fanout) {
    let sink = |event: Value| async move { Ok::<Value, String>(fanout.handle(&event).await) };
    let mut quiet = 0;
    while quiet < 3 {
        if feeder.poll(&sink).await.unwrap() == 0 {
            quiet += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            quiet = 0;
        }
    }
}

async fn put(c: &logbook_tests::logs::Client, group: &str, stream: &str, events: Vec<InputLogEvent>) {
    c.put_log_events().log_group_name(group).log_stream_name(stream).set_log_events(Some(events)).send().await.unwrap();
}

/// (id, timestamp, message) of FilterLogEvents' answer for `pattern`, by stream.
async fn filtered(
    c: &logbook_tests::logs::Client,
    group: &str,
    pattern: &str,
) -> BTreeMap<String, Vec<(String, i64, String)>> {
    let mut out: BTreeMap<String, Vec<(String, i64, String)>> = BTreeMap::new();
    let mut pages = c.filter_log_events().log_group_name(group).filter_pattern(pattern).into_paginator().send();
    while let Some(p) = pages.next().await {
        for e in p.unwrap().events() {
            out.entry(e.log_stream_name().unwrap().to_owned()).or_default().push((
                e.event_id().unwrap().to_owned(),
                e.timestamp().unwrap(),
                e.message().unwrap().to_owned(),
            ));
        }
    }
    out
}

/// What the data messages carried, by stream, in the order they arrived (duplicates kept).
fn delivered(messages: &[&Value]) -> BTreeMap<String, Vec<(String, i64, String)>> {
    let mut out: BTreeMap<String, Vec<(String, i64, String)>> = BTreeMap::new();
    for m in messages {
        for e in m["logEvents"].as_array().unwrap() {
            out.entry(m["logStream"].as_str().unwrap().to_owned()).or_default().push((
                e["id"].as_str().unwrap().to_owned(),
                e["timestamp"].as_i64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

/// At least once and in order per stream: with repeats removed (a redelivery repeats a run it
/// already sent), each stream's events are exactly `want`'s, in ingestion order.
fn assert_at_least_once_in_order(
    got: &BTreeMap<String, Vec<(String, i64, String)>>,
    want: &BTreeMap<String, Vec<(String, i64, String)>>,
    ingestion_order: &HashMap<String, usize>,
) {
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "streams delivered");
    for (stream, events) in got {
        let mut seen = std::collections::HashSet::new();
        let firsts: Vec<&(String, i64, String)> = events.iter().filter(|e| seen.insert(e.0.clone())).collect();
        let mut expected: Vec<&(String, i64, String)> = want[stream].iter().collect();
        expected.sort_by_key(|e| ingestion_order[&e.2]);
        assert_eq!(firsts, expected, "{stream}: every matching event once, in order");
    }
}

#[tokio::test]
async fn filter_validation_and_errors_as_aws_answers_them() {
    let (c, account) = logs_client();
    let put_filter = |group: &str, name: &str, pattern: &str, dest: &str, role: Option<&str>| {
        c.put_subscription_filter()
            .log_group_name(group)
            .filter_name(name)
            .filter_pattern(pattern)
            .destination_arn(dest)
            .set_role_arn(role.map(str::to_owned))
    };
    let other = "arn:aws:lambda:us-east-1:999999999999:function:f";
    let mine = format!("arn:aws:lambda:us-east-1:{account}:function:f");
    let stream = kinesis_stream(&format!("validation-{account}")).await;
    let cases: Vec<(&str, Option<&str>, &str, &str)> = vec![
        // A Lambda in another account: denied before the log group is even looked at.
        (
            other,
            None,
            "AccessDeniedException",
            "Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create \
             cross account lambda triggers.",
        ),
        (
            &mine,
            Some(ROLE),
            "InvalidParameterException",
            "destinationArn for vendor lambda cannot be used with roleArn",
        ),
        (
            "arn:aws:logs:us-east-1:999999999999:destination:d",
            Some(ROLE),
            "InvalidParameterException",
            "destinationArn for vendor logs cannot be used with roleArn",
        ),
        (
            &stream,
            None,
            "InvalidParameterException",
            "destinationArn for vendor kinesis cannot be used without roleArn",
        ),
        (
            "arn:aws:firehose:us-east-1:1:deliverystream/x",
            None,
            "InvalidParameterException",
            "destinationArn for vendor firehose cannot be used without roleArn",
        ),
        (
            "arn:aws:s3:::bucket",
            Some(ROLE),
            "InvalidParameterException",
            "PutSubscriptionFilter operation cannot work with destinationArn for vendor s3",
        ),
        (&stream, Some(ROLE), "ResourceNotFoundException", "The specified log group does not exist."),
    ];
    for (dest, role, code, message) in cases {
        let e = err(put_filter("missing", "f", "", dest, role).send().await);
        assert_eq!((e.0.as_str(), e.1.as_str()), (code, message), "{dest} {role:?}");
    }
    let e = err(put_filter("g", "f", "", &stream, Some(ROLE)).distribution("Everywhere".into()).send().await);
    assert_eq!(e.0, "InvalidParameterException");
    assert_eq!(
        e.1,
        "1 validation error detected: Value 'Everywhere' at 'distribution' failed to satisfy constraint: Member \
         must satisfy enum value set: [Random, ByLogStream]"
    );
    let e = err(put_filter("g", "a:b", "", &stream, Some(ROLE)).send().await);
    assert_eq!(e.0, "InvalidParameterException", "{}", e.1);

    c.create_log_group().log_group_name("g").send().await.unwrap();
    // Targets that cannot take the health check.
    let e =
        err(put_filter("g", "f", "", "arn:aws:kinesis:us-east-1:123456789012:stream/none", Some(ROLE)).send().await);
    assert_eq!(
        e,
        (
            "InvalidParameterException".into(),
            "Could not deliver test message to specified Kinesis stream. Check if the given kinesis steam is in \
             ACTIVE state."
                .into()
        )
    );
    let e = err(put_filter("g", "f", "", "arn:aws:firehose:us-east-1:123456789012:deliverystream/none", Some(ROLE))
        .send()
        .await);
    assert_eq!(
        e.1,
        "Could not deliver test message to specified Firehose stream. Check if the given Firehose stream is in ACTIVE state."
    );
    let e = err(put_filter("g", "f", "{ $.x = ", &stream, Some(ROLE)).send().await);
    assert_eq!(e.0, "InvalidParameterException", "{}", e.1);

    // Two filters; a third name is over the limit, an existing name is an update even then.
    put_filter("g", "b-errors", "ERROR", &stream, Some(ROLE)).send().await.unwrap();
    put_filter("g", "a-all", "", &stream, Some(ROLE)).distribution("Random".into()).send().await.unwrap();
    let e = err(put_filter("g", "c", "", &stream, Some(ROLE)).send().await);
    assert_eq!(e, ("LimitExceededException".into(), "Resource limit exceeded.".into()));
    let before = c.describe_subscription_filters().log_group_name("g").send().await.unwrap();
    let created = before.subscription_filters()[1].creation_time().unwrap();
    put_filter("g", "b-errors", "[]", &stream, Some(ROLE)).send().await.unwrap();

    let all = c.describe_subscription_filters().log_group_name("g").send().await.unwrap();
    let names: Vec<_> = all.subscription_filters().iter().map(|f| f.filter_name().unwrap()).collect();
    assert_eq!(names, ["a-all", "b-errors"], "in name order");
    let a = &all.subscription_filters()[0];
    assert_eq!(a.filter_pattern(), Some(""), "an empty pattern is kept verbatim");
    assert_eq!(a.distribution().map(|d| d.as_str()), Some("Random"));
    assert_eq!(a.role_arn(), Some(ROLE));
    assert_eq!(a.log_group_name(), Some("g"));
    assert_eq!(a.destination_arn(), Some(stream.as_str()));
    let b = &all.subscription_filters()[1];
    assert_eq!(b.filter_pattern(), Some("[]"), "updated");
    assert_eq!(b.distribution().map(|d| d.as_str()), Some("ByLogStream"), "the default");
    assert_eq!(b.creation_time(), Some(created), "an update keeps the creation time");
    assert!(all.next_token().is_none());

    // Paging and prefixes.
    let p1 = c.describe_subscription_filters().log_group_name("g").limit(1).send().await.unwrap();
    assert_eq!(p1.subscription_filters().len(), 1);
    let p2 = c
        .describe_subscription_filters()
        .log_group_name("g")
        .limit(1)
        .next_token(p1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p2.subscription_filters()[0].filter_name(), Some("b-errors"));
    assert!(p2.next_token().is_none());
    let e = err(c.describe_subscription_filters().log_group_name("g").next_token("forged").send().await);
    assert_eq!(e, ("InvalidParameterException".into(), "The specified nextToken is invalid.".into()));
    let b = c.describe_subscription_filters().log_group_name("g").filter_name_prefix("b").send().await.unwrap();
    assert_eq!(b.subscription_filters().len(), 1);
    let e = err(c.describe_subscription_filters().log_group_name("missing").send().await);
    assert_eq!(e, ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));

    // The health check went to the stream, once per put.
    let controls: Vec<Value> = kinesis_messages(&format!("validation-{account}"))
        .await
        .into_iter()
        .filter(|m| m["messageType"] == "CONTROL_MESSAGE")
        .collect();
    assert_eq!(controls.len(), 3);
    assert_eq!(controls[0]["owner"], "CloudwatchLogs");
    assert_eq!(
        controls[0]["logEvents"][0]["message"],
        "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
    );

    // Deletes.
    let e = err(c.delete_subscription_filter().log_group_name("g").filter_name("zzz").send().await);
    assert_eq!(e, ("ResourceNotFoundException".into(), "The specified subscription filter does not exist.".into()));
    let e = err(c.delete_subscription_filter().log_group_name("missing").filter_name("a-all").send().await);
    assert_eq!(e.1, "The specified log group does not exist.");
    c.delete_subscription_filter().log_group_name("g").filter_name("a-all").send().await.unwrap();
    put_filter("g", "c", "", &stream, Some(ROLE)).send().await.unwrap();
    // Deleting the group deletes its filters: a new group of that name has none.
    c.delete_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let none = c.describe_subscription_filters().log_group_name("g").send().await.unwrap();
    assert!(none.subscription_filters().is_empty());
}

#[tokio::test]
async fn destinations_and_their_access_policies() {
    let (owner, owner_account) = logs_client();
    let sender_account = new_account();
    let sender = logs_client_for(&sender_account, "us-east-1");
    let stream = kinesis_stream(&format!("dest-{owner_account}")).await;
    let put =
        |name: &str, target: &str| owner.put_destination().destination_name(name).target_arn(target).role_arn(ROLE);

    let d = put("central", &stream).send().await.unwrap().destination().unwrap().clone();
    let arn = format!("arn:aws:logs:us-east-1:{owner_account}:destination:central");
    assert_eq!(d.arn(), Some(arn.as_str()));
    assert_eq!(d.target_arn(), Some(stream.as_str()));
    assert_eq!(d.role_arn(), Some(ROLE));
    assert!(d.access_policy().is_none(), "no policy until one is put");
    let created = d.creation_time().unwrap();
    for (target, what) in [
        ("arn:aws:kinesis:us-east-1:123456789012:stream/none", "a stream that does not exist"),
        ("arn:aws:s3:::bucket", "not Kinesis or Firehose"),
    ] {
        let e = err(put("bad", target).send().await);
        assert_eq!(
            e,
            (
                "InvalidParameterException".into(),
                "Could not deliver test message to specified destination. Check if the destination is valid.".into()
            ),
            "{what}"
        );
    }
    for name in ["b-2", "a-1", "b-1"] {
        put(name, &stream).send().await.unwrap();
    }
    // Stored verbatim, whitespace and all.
    let policy = format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {{ \"Effect\" : \"Allow\", \"Principal\" : {{ \"AWS\" : \
         \"{sender_account}\" }}, \"Action\" : \"logs:PutSubscriptionFilter\", \"Resource\" : \"{arn}\" }} ]\n}}"
    );
    owner.put_destination_policy().destination_name("central").access_policy(&policy).send().await.unwrap();
    let e = err(owner.put_destination_policy().destination_name("none").access_policy(&policy).send().await);
    assert_eq!(e, ("ResourceNotFoundException".into(), "The specified destination does not exist.".into()));
    // An update keeps the policy and the creation time.
    let again = put("central", &stream).send().await.unwrap().destination().unwrap().clone();
    assert_eq!(again.access_policy(), Some(policy.as_str()));
    assert_eq!(again.creation_time(), Some(created));

    let all = owner.describe_destinations().send().await.unwrap();
    let names: Vec<_> = all.destinations().iter().map(|d| d.destination_name().unwrap()).collect();
    assert_eq!(names, ["a-1", "b-1", "b-2", "central"], "ASCII order");
    let b = owner.describe_destinations().destination_name_prefix("b-").limit(1).send().await.unwrap();
    assert_eq!(b.destinations()[0].destination_name(), Some("b-1"));
    let b2 = owner
        .describe_destinations()
        .destination_name_prefix("b-")
        .limit(1)
        .next_token(b.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(b2.destinations()[0].destination_name(), Some("b-2"));
    assert!(b2.next_token().is_none());
    assert!(
        owner.describe_destinations().destination_name_prefix("zz").send().await.unwrap().destinations().is_empty()
    );
    // Another account sees only its own.
    assert!(sender.describe_destinations().send().await.unwrap().destinations().is_empty());

    // Across accounts: the policy decides.
    sender.create_log_group().log_group_name("app").send().await.unwrap();
    let subscribe = |c: &logbook_tests::logs::Client, dest: &str| {
        c.put_subscription_filter()
            .log_group_name("app")
            .filter_name("to-central")
            .filter_pattern("")
            .destination_arn(dest)
    };
    let denied = |account: &str, arn: &str| {
        (
            "AccessDeniedException".to_owned(),
            format!(
                "User with accountId: {account} is not authorized to perform: logs:PutSubscriptionFilter on resource: {arn}"
            ),
        )
    };
    let a1 = format!("arn:aws:logs:us-east-1:{owner_account}:destination:a-1");
    assert_eq!(err(subscribe(&sender, &a1).send().await), denied(&sender_account, &a1), "no policy");
    subscribe(&sender, &arn).send().await.unwrap();
    let third_account = new_account();
    let third = logs_client_for(&third_account, "us-east-1");
    third.create_log_group().log_group_name("app").send().await.unwrap();
    assert_eq!(err(subscribe(&third, &arn).send().await), denied(&third_account, &arn), "not in the policy");
    // The denial comes before the log group is looked at.
    let fourth = new_account();
    let e = err(logs_client_for(&fourth, "us-east-1")
        .put_subscription_filter()
        .log_group_name("missing")
        .filter_name("f")
        .filter_pattern("")
        .destination_arn(&arn)
        .send()
        .await);
    assert_eq!(e, denied(&fourth, &arn));

    let e = err(owner.delete_destination().destination_name("none").send().await);
    assert_eq!(e, ("ResourceNotFoundException".into(), "The specified destination does not exist.".into()));
    owner.delete_destination().destination_name("b-1").send().await.unwrap();
    let names: Vec<String> = owner
        .describe_destinations()
        .send()
        .await
        .unwrap()
        .destinations()
        .iter()
        .map(|d| d.destination_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a-1", "b-2", "central"]);
}

/// Two streams, two filters (Kinesis for `ERROR`, Firehose for a space-delimited pattern with
/// named fields): each target gets exactly the matching events, each at least once, in order per
/// stream, with the ids FilterLogEvents gives them; events from before a filter existed do not go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_and_firehose_receive_the_matching_events() {
    let (c, account) = logs_client();
    let mut feeder = feeder(&account, None).await;
    let fan = fanout(&account, logbook_tests::targets(None), QUICK);
    c.create_log_group().log_group_name("app").send().await.unwrap();
    for s in ["web-1", "web-2"] {
        c.create_log_stream().log_group_name("app").log_stream_name(s).send().await.unwrap();
    }
    let now = now_ms();
    put(&c, "app", "web-1", vec![ev(now - 5000, "ERROR before any filter"), ev(now - 4999, "1.1.1.1 eve 500 1")]).await;

    let kname = format!("errors-{account}");
    let karn = kinesis_stream(&kname).await;
    let (farn, bucket) = firehose_stream(&format!("access-{account}")).await;
    c.put_subscription_filter()
        .log_group_name("app")
        .filter_name("errors")
        .filter_pattern("ERROR")
        .destination_arn(&karn)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    c.put_subscription_filter()
        .log_group_name("app")
        .filter_name("server-errors")
        .filter_pattern("[ip, user, status=5*, size]")
        .destination_arn(&farn)
        .role_arn(ROLE)
        .distribution("Random".into())
        .send()
        .await
        .unwrap();

    let mut order = HashMap::new();
    let mut n = 0;
    for batch in 0..6 {
        for s in ["web-1", "web-2"] {
            let mut events = Vec::new();
            for i in 0..10 {
                let t = now + batch * 100 + i;
                let m = match i % 3 {
                    0 => format!("ERROR {s} batch {batch} #{i}"),
                    1 => format!("10.0.0.{i} user{batch} {} {}", if i % 2 == 0 { 503 } else { 200 }, i * 10),
                    _ => format!("INFO {s} batch {batch} #{i}"),
                };
                order.insert(m.clone(), n);
                n += 1;
                events.push(ev(t, m));
            }
            put(&c, "app", s, events).await;
        }
    }
    drain(&mut feeder, &fan).await;

    let k = kinesis_messages(&kname).await;
    assert!(k.iter().any(|m| m["messageType"] == "CONTROL_MESSAGE"), "the health check is in the stream");
    let kd = data_messages(&k);
    for m in &kd {
        assert_eq!(m["owner"], account.as_str());
        assert_eq!(m["logGroup"], "app");
        assert_eq!(m["subscriptionFilters"], serde_json::json!(["errors"]));
        assert!(m["logEvents"][0].get("extractedFields").is_none());
    }
    // Not what came before the filter existed.
    let mut want = filtered(&c, "app", "ERROR").await;
    for events in want.values_mut() {
        events.retain(|e| e.2 != "ERROR before any filter");
    }
    assert_at_least_once_in_order(&delivered(&kd), &want, &order);

    let f = firehose_messages(&bucket).await;
    assert!(
        f.iter()
            .any(|m| m["logEvents"][0]["message"] == "CWL CONTROL MESSAGE: Checking health of destination Firehose.")
    );
    let fd = data_messages(&f);
    let mut want = filtered(&c, "app", "[ip, user, status=5*, size]").await;
    for events in want.values_mut() {
        events.retain(|e| e.2 != "1.1.1.1 eve 500 1");
    }
    // Firehose names its objects by the second and a random id: their order is not the order
    // they were written in (nor is it on AWS). Within each message the order holds, and every
    // matching event is there, once its repeats are removed.
    for m in &fd {
        let ranks: Vec<usize> =
            m["logEvents"].as_array().unwrap().iter().map(|e| order[e["message"].as_str().unwrap()]).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "a message's events in order");
    }
    let mut got = delivered(&fd);
    for events in got.values_mut() {
        let mut seen = std::collections::HashSet::new();
        events.retain(|e| seen.insert(e.0.clone()));
        events.sort_by_key(|e| order[&e.2]);
    }
    assert_at_least_once_in_order(&got, &want, &order);
    let first = &fd[0]["logEvents"][0];
    let fields = &first["extractedFields"];
    let message = first["message"].as_str().unwrap();
    let parts: Vec<&str> = message.split(' ').collect();
    assert_eq!(
        fields,
        &serde_json::json!({ "ip": parts[0], "user": parts[1], "status": parts[2], "size": parts[3] }),
        "named fields, bare names, string values"
    );
}

/// A destination in account A delivers account B's events to A's stream while A's policy lets B
/// in; once the policy no longer does, B's events are dropped and counted, not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_delivers_for_another_account_while_its_policy_allows() {
    let (owner, owner_account) = logs_client();
    let sender_account = new_account();
    let sender = logs_client_for(&sender_account, "us-east-1");
    let mut feeder = feeder(&sender_account, None).await;
    let fan = fanout(&sender_account, logbook_tests::targets(None), QUICK);
    let kname = format!("central-{owner_account}");
    let karn = kinesis_stream(&kname).await;
    owner.put_destination().destination_name("central").target_arn(&karn).role_arn(ROLE).send().await.unwrap();
    let arn = format!("arn:aws:logs:us-east-1:{owner_account}:destination:central");
    let allow = |who: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{who}"}},"Action":"logs:PutSubscriptionFilter","Resource":"{arn}"}}]}}"#
        )
    };
    owner
        .put_destination_policy()
        .destination_name("central")
        .access_policy(allow(&sender_account))
        .send()
        .await
        .unwrap();
    sender.create_log_group().log_group_name("app").send().await.unwrap();
    sender.create_log_stream().log_group_name("app").log_stream_name("s").send().await.unwrap();
    sender
        .put_subscription_filter()
        .log_group_name("app")
        .filter_name("central")
        .filter_pattern("")
        .destination_arn(&arn)
        .send()
        .await
        .unwrap();
    let now = now_ms();
    put(&sender, "app", "s", (0..5).map(|i| ev(now + i, format!("allowed {i}"))).collect()).await;
    drain(&mut feeder, &fan).await;
    let got: Vec<String> = data_messages(&kinesis_messages(&kname).await)
        .iter()
        .flat_map(|m| m["logEvents"].as_array().unwrap().clone())
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, (0..5).map(|i| format!("allowed {i}")).collect::<Vec<_>>());
    let m = &data_messages(&kinesis_messages(&kname).await)[0].clone();
    assert_eq!(m["owner"], sender_account.as_str(), "the sender's account owns the events");

    // The owner takes the sender out of the policy: what follows is dropped and counted.
    owner
        .put_destination_policy()
        .destination_name("central")
        .access_policy(allow("999999999999"))
        .send()
        .await
        .unwrap();
    put(&sender, "app", "s", (0..3).map(|i| ev(now + 100 + i, format!("after {i}"))).collect()).await;
    drain(&mut feeder, &fan).await;
    let after: usize = data_messages(&kinesis_messages(&kname).await).len();
    assert_eq!(after, 1, "nothing more delivered");
    let id = logbook_protocol::Identity::of(&sender_account, "us-east-1");
    let store = logbook_tests::store();
    let group = store.require_group(&id, "app").await.unwrap();
    let key = logbook_storage::keys::subscription(&id, &group.id, "central");
    let item = store.db().get_item(&key).await.unwrap().unwrap();
    assert_eq!(logbook_storage::table::get_n(&item, "droppedEvents"), Some(3));
}

/// The delivering process dies mid-batch (after sending, before its checkpoint) and restarts
/// from its checkpoint file; then the target is down for a while and comes back. Everything
/// arrives, in order per stream; only repeats of what was sent before the crash are extra.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_to_a_crash_or_a_target_that_is_down() {
    let (c, account) = logs_client();
    let dir = std::env::temp_dir().join(format!("logbook-feeder-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("checkpoint.json");
    let (proxy, counts, down) = logbook_tests::faults::outage(logbook_tests::s3_endpoint());
    let targets = || {
        let config = aws_config().to_builder().endpoint_url(&proxy).build();
        logbook_delivery::Targets::new(config, None, None)
    };
    let kname = format!("crash-{account}");
    let karn = kinesis_stream(&kname).await;
    c.create_log_group().log_group_name("app").send().await.unwrap();
    c.create_log_stream().log_group_name("app").log_stream_name("s").send().await.unwrap();
    c.put_subscription_filter()
        .log_group_name("app")
        .filter_name("all")
        .filter_pattern("")
        .destination_arn(&karn)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let mut first = feeder(&account, Some(state.clone())).await;
    let now = now_ms();
    let mut order = HashMap::new();
    let mut next = 0usize;
    let mut batch = |count: usize| {
        let events: Vec<InputLogEvent> = (0..count)
            .map(|_| {
                let m = format!("event {next}");
                order.insert(m.clone(), next);
                next += 1;
                ev(now + next as i64, m)
            })
            .collect();
        events
    };
    // The feeder runs for a while (its checkpoint file follows), then more is written.
    put(&c, "app", "s", batch(5)).await;
    {
        let fan = fanout(&account, targets(), QUICK);
        drain(&mut first, &fan).await;
    }
    for _ in 0..3 {
        put(&c, "app", "s", batch(5)).await;
    }
    // The crash: the fan-out delivers the batch, then the process dies before the checkpoint.
    {
        let fan = fanout(&account, targets(), QUICK);
        let fan = &fan;
        let sink = |event: Value| async move {
            let _ = fan.handle(&event).await;
            std::future::pending::<Result<Value, String>>().await
        };
        let poll = first.poll(&sink);
        assert!(tokio::time::timeout(Duration::from_secs(5), poll).await.is_err(), "killed mid-batch");
    }
    drop(first);
    put(&c, "app", "s", batch(5)).await;
    let mut restarted = feeder(&account, Some(state.clone())).await;
    let fan = fanout(&account, targets(), QUICK);
    drain(&mut restarted, &fan).await;

    // The target goes down; the writes go on; the feeder retries with backoff; it comes back.
    down.store(true, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..3 {
        put(&c, "app", "s", batch(5)).await;
    }
    let sink = |event: Value| {
        let fan = &fan;
        async move { Ok::<Value, String>(fan.handle(&event).await) }
    };
    // Polls until a delivery has failed (a loaded machine may need more than one 3-second poll
    // for the stream to show the writes).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while restarted.retries == 0 && std::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_secs(3), restarted.poll(&sink)).await;
    }
    assert!(restarted.retries > 0, "deliveries failed while the target was down");
    let refused = counts.server_errors.load(std::sync::atomic::Ordering::Relaxed);
    assert!(refused > 0);
    down.store(false, std::sync::atomic::Ordering::Relaxed);
    drain(&mut restarted, &fan).await;

    let messages = kinesis_messages(&kname).await;
    let got = delivered(&data_messages(&messages));
    let want = filtered(&c, "app", "").await;
    assert_eq!(want["s"].len(), 40);
    assert_at_least_once_in_order(&got, &want, &order);
    let _ = std::fs::remove_dir_all(&dir);
}
