//! Bad input, as a careless or hostile client sends it: every answer is a 4xx in AWS's
//! `{"__type","message"}` form, never a 5xx and never a crash. The corpus is generated from one
//! valid request per served action, mutated member by member (missing, null, the wrong JSON
//! type, empty, huge, multi-byte at the length limit and past it, numeric extremes, deep
//! nesting), plus whole bodies that are not JSON objects and members nobody asked for; then the
//! specific cases AWS answers in a particular way, table-driven.

use logbook_protocol::{Action, Service};
use logbook_tests::{new_account, raw_post, sigv4};
use serde_json::{Value, json};

/// One valid request per served action, in an account where `g`/`s` exist.
fn base(action: Action, now: i64, account: &str) -> Value {
    let group_arn = format!("arn:aws:logs:us-east-1:{account}:log-group:g");
    let event = json!({ "timestamp": now, "message": "hello" });
    let transformation = json!({ "metricName": "M", "metricNamespace": "App", "metricValue": "1" });
    match action.name() {
        "CreateLogGroup" => json!({ "logGroupName": "new-group", "tags": { "team": "core" } }),
        "DeleteLogGroup" | "DeleteRetentionPolicy" | "DisassociateKmsKey" | "ListTagsLogGroup" => {
            json!({ "logGroupName": "g" })
        }
        "DescribeLogGroups" => json!({ "logGroupNamePrefix": "g", "limit": 5 }),
        "PutRetentionPolicy" => json!({ "logGroupName": "g", "retentionInDays": 7 }),
        "TagLogGroup" => json!({ "logGroupName": "g", "tags": { "k": "v" } }),
        "UntagLogGroup" => json!({ "logGroupName": "g", "tags": ["k"] }),
        "AssociateKmsKey" => {
            json!({ "logGroupName": "g", "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc" })
        }
        "CreateLogStream" | "DeleteLogStream" => json!({ "logGroupName": "g", "logStreamName": "new-stream" }),
        "DescribeLogStreams" => json!({ "logGroupName": "g", "logStreamNamePrefix": "s", "limit": 5 }),
        "PutLogEvents" => json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": [event] }),
        "GetLogEvents" => {
            json!({ "logGroupName": "g", "logStreamName": "s", "startTime": 0, "endTime": now, "limit": 10 })
        }
        "FilterLogEvents" => {
            json!({ "logGroupName": "g", "logStreamNames": ["s"], "startTime": 0, "endTime": now, "filterPattern": "ERROR", "limit": 10 })
        }
        "PutMetricFilter" => json!({
            "logGroupName": "g", "filterName": "f", "filterPattern": "ERROR", "metricTransformations": [transformation],
        }),
        "DeleteMetricFilter" => json!({ "logGroupName": "g", "filterName": "f" }),
        "DescribeMetricFilters" => json!({ "logGroupName": "g", "filterNamePrefix": "f", "limit": 5 }),
        "TestMetricFilter" => json!({ "filterPattern": "ERROR", "logEventMessages": ["ERROR x"] }),
        "CreateTrail" | "UpdateTrail" => json!({ "Name": "trail-1", "S3BucketName": "missing-bucket-of-nobody" }),
        "DeleteTrail" | "GetTrailStatus" | "StartLogging" | "StopLogging" => json!({ "Name": "trail-1" }),
        "DescribeTrails" => json!({ "trailNameList": ["trail-1"], "includeShadowTrails": true }),
        "LookupEvents" => json!({
            "LookupAttributes": [{ "AttributeKey": "EventName", "AttributeValue": "CreateLogGroup" }],
            "StartTime": 0, "EndTime": now / 1000, "MaxResults": 5,
        }),
        "PutSubscriptionFilter" => json!({
            "logGroupName": "g", "filterName": "f", "filterPattern": "ERROR", "destinationArn": KINESIS,
            "roleArn": "arn:aws:iam::123456789012:role/r", "distribution": "Random",
        }),
        "DeleteSubscriptionFilter" => json!({ "logGroupName": "g", "filterName": "f" }),
        "DescribeSubscriptionFilters" => json!({ "logGroupName": "g", "filterNamePrefix": "f", "limit": 5 }),
        "PutDestination" => {
            json!({ "destinationName": "d", "targetArn": KINESIS, "roleArn": "arn:aws:iam::123456789012:role/r" })
        }
        "PutDestinationPolicy" => json!({
            "destinationName": "d",
            "accessPolicy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutSubscriptionFilter","Resource":"*"}]}"#,
        }),
        "DeleteDestination" => json!({ "destinationName": "d" }),
        "DescribeDestinations" => json!({ "DestinationNamePrefix": "d", "limit": 5 }),
        "PutResourcePolicy" => json!({
            "policyName": "p",
            "policyDocument": r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}"#,
        }),
        "DeleteResourcePolicy" => json!({ "policyName": "p" }),
        "DescribeResourcePolicies" => json!({ "limit": 5 }),
        "CreateExportTask" => json!({
            "taskName": "t", "logGroupName": "g", "logStreamNamePrefix": "s", "from": 0, "to": now,
            "destination": EXPORT_BUCKET, "destinationPrefix": "p",
        }),
        "DescribeExportTasks" => json!({ "taskId": "t", "statusCode": "RUNNING", "limit": 5 }),
        "CancelExportTask" => json!({ "taskId": "t" }),
        "ListLogGroups" => json!({ "logGroupNamePattern": "^g|abc", "logGroupClass": "STANDARD", "limit": 5 }),
        "PutLogGroupDeletionProtection" => {
            json!({ "logGroupIdentifier": group_arn, "deletionProtectionEnabled": false })
        }
        "TagResource" => json!({ "resourceArn": group_arn, "tags": { "k": "v" } }),
        "UntagResource" => json!({ "resourceArn": group_arn, "tagKeys": ["k"] }),
        "ListTagsForResource" => json!({ "resourceArn": group_arn }),
        other => panic!("no base request for {other}"),
    }
}

/// What a member becomes: the mutations every member gets.
fn mutations(value: &Value) -> Vec<(&'static str, Option<Value>)> {
    let deep = (0..300).fold(json!(1), |v, _| json!([v]));
    let mut out: Vec<(&'static str, Option<Value>)> = vec![
        ("missing", None),
        ("null", Some(Value::Null)),
        ("empty string", Some(json!(""))),
        ("number", Some(json!(42))),
        ("float", Some(json!(1e300))),
        ("negative", Some(json!(-1))),
        ("i64 max", Some(json!(i64::MAX))),
        ("i64 min", Some(json!(i64::MIN))),
        ("u64 max", Some(json!(u64::MAX))),
        ("bool", Some(json!(true))),
        ("array", Some(json!(["a", 1, null]))),
        ("object", Some(json!({ "a": { "b": [] } }))),
        ("450 KB", Some(json!("x".repeat(450_000)))),
        ("512 four-byte chars", Some(json!("\u{1F600}".repeat(512)))),
        ("513 chars", Some(json!("a".repeat(513)))),
        ("control chars", Some(json!("a\u{0}b\u{7}c\nd"))),
        ("colon and star", Some(json!("a:b*c"))),
        ("deep nesting", Some(deep)),
    ];
    // Lists and maps also get big and odd contents.
    if value.is_array() {
        out.push(("2,000 items", Some(Value::Array((0..2_000).map(|i| json!(format!("i{i}"))).collect()))));
        out.push(("empty list", Some(json!([]))));
        out.push(("list of nulls", Some(json!([null, null]))));
    }
    if value.is_object() {
        let many: serde_json::Map<String, Value> = (0..30_000).map(|i| (format!("k{i}"), json!("v"))).collect();
        out.push(("30,000 entries", Some(Value::Object(many))));
        out.push(("empty map", Some(json!({}))));
    }
    out
}

struct Outcome {
    what: String,
    status: u16,
    body: Value,
}

fn send(account: &str, action: Action, body: &str) -> (u16, Value) {
    let service = if action.service() == Service::CloudTrail { "cloudtrail" } else { "logs" };
    let auth = sigv4(account, service);
    let target = action.target();
    let (status, v, _) = raw_post("/", &[("x-amz-target", &target), ("authorization", &auth)], body);
    (status, v)
}

/// A bucket on the local S3, so export requests can succeed.
const EXPORT_BUCKET: &str = "bad-inputs-exports";

/// A Kinesis stream on the local AWS services, so subscription requests can succeed.
const KINESIS: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/bad-inputs";

fn setup(account: &str, now: i64) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let k = aws_sdk_kinesis::Client::new(&logbook_tests::aws_config());
        // Made once per local server: a second test finds it there.
        let _ = k.create_stream().stream_name("bad-inputs").shard_count(1).send().await;
        let _ = logbook_tests::s3().create_bucket().bucket(EXPORT_BUCKET).send().await;
    });
    for (action, body) in [
        (Action::CreateLogGroup, json!({ "logGroupName": "g" })),
        (Action::CreateLogStream, json!({ "logGroupName": "g", "logStreamName": "s" })),
        (
            Action::PutLogEvents,
            json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": [{ "timestamp": now, "message": "ERROR x" }] }),
        ),
    ] {
        let (status, v) = send(account, action, &body.to_string());
        assert_eq!(status, 200, "setup {action}: {v}");
    }
}

#[test]
fn no_bad_input_gets_a_server_error() {
    let account = new_account();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    setup(&account, now);
    let mut outcomes: Vec<Outcome> = Vec::new();
    let served: Vec<Action> = Action::ALL.iter().copied().filter(|a| a.group().is_some()).collect();
    for action in &served {
        let valid = base(*action, now, &account);
        // Whole bodies that are not a JSON object, and one with a member nobody asked for.
        let mut with_extra = valid.clone();
        with_extra["unknownMember"] = json!("u".repeat(1_000_000));
        let wholes: Vec<(&str, String)> = vec![
            ("empty body", String::new()),
            ("null body", "null".into()),
            ("array body", "[]".into()),
            ("number body", "123".into()),
            ("string body", "\"x\"".into()),
            ("truncated JSON", "{\"logGroupName\":".into()),
            ("not JSON", "<xml/>".into()),
            ("unknown megabyte member", with_extra.to_string()),
            ("deeply nested body", format!("{}{}", "{\"a\":".repeat(5_000), "}".repeat(5_000))),
        ];
        for (what, body) in wholes {
            let (status, v) = send(&account, *action, &body);
            outcomes.push(Outcome { what: format!("{action}: {what}"), status, body: v });
        }
        let members: Vec<String> = valid.as_object().unwrap().keys().cloned().collect();
        for member in members {
            for (what, value) in mutations(&valid[&member]) {
                let mut body = valid.clone();
                match value {
                    Some(v) => body[&member] = v,
                    None => {
                        body.as_object_mut().unwrap().remove(&member);
                    }
                }
                let (status, v) = send(&account, *action, &body.to_string());
                outcomes.push(Outcome { what: format!("{action}: {member} {what}"), status, body: v });
            }
        }
    }
    let mut bad = Vec::new();
    for o in &outcomes {
        let shaped = o.status == 200
            || (o.body["__type"].as_str().is_some_and(|t| !t.is_empty())
                && o.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        if o.status >= 500 || !shaped {
            bad.push(format!(
                "{} -> {} {}",
                o.what,
                o.status,
                o.body.to_string().chars().take(200).collect::<String>()
            ));
        }
    }
    let refused = outcomes.iter().filter(|o| (400..500).contains(&o.status)).count();
    println!(
        "{} bad inputs: {refused} refused with a 4xx, {} accepted, {} wrong",
        outcomes.len(),
        outcomes.len() - refused - bad.len(),
        bad.len()
    );
    assert!(outcomes.len() > 1_000, "a broad corpus: {}", outcomes.len());
    assert!(bad.is_empty(), "{} answers were server errors or not AWS-shaped:\n{}", bad.len(), bad.join("\n"));
}

/// The cases AWS answers in a way of its own.
#[test]
fn aws_specific_answers() {
    let account = new_account();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    setup(&account, now);
    let many_tags: serde_json::Map<String, Value> = (0..30_000).map(|i| (format!("k{i}"), json!("v"))).collect();
    let keys: Vec<String> = (0..600).map(|i| format!("k{i}")).collect();
    let cases: Vec<(Action, Value, u16, &str, Option<&str>)> = vec![
        (
            Action::CreateLogGroup,
            json!({ "logGroupName": "a".repeat(513) }),
            400,
            "InvalidParameterException",
            Some("Invalid LogGroup or LogStream, both must have length less than or equal to 512."),
        ),
        (
            Action::CreateLogStream,
            json!({ "logGroupName": "g", "logStreamName": "\u{1F600}".repeat(513) }),
            400,
            "InvalidParameterException",
            Some("Invalid LogGroup or LogStream, both must have length less than or equal to 512."),
        ),
        // The longest names AWS accepts, in four-byte characters, are served.
        (
            Action::CreateLogStream,
            json!({ "logGroupName": "g", "logStreamName": "\u{1F600}".repeat(512) }),
            200,
            "",
            None,
        ),
        (
            Action::PutLogEvents,
            json!({ "logGroupName": "g", "logStreamName": "\u{1F600}".repeat(512),
            "logEvents": [{ "timestamp": now, "message": "m" }] }),
            200,
            "",
            None,
        ),
        (
            Action::DescribeLogStreams,
            json!({ "logGroupName": "g", "logStreamNamePrefix": "\u{1F600}".repeat(300) }),
            200,
            "",
            None,
        ),
        (
            Action::PutMetricFilter,
            json!({ "logGroupName": "g", "filterName": "\u{1F600}".repeat(512), "filterPattern": "",
            "metricTransformations": [{ "metricName": "\u{1F600}".repeat(255), "metricNamespace": "\u{1F600}".repeat(255), "metricValue": "1" }] }),
            200,
            "",
            None,
        ),
        (
            Action::DescribeMetricFilters,
            json!({ "metricNamespace": "\u{1F600}".repeat(255), "metricName": "\u{1F600}".repeat(255) }),
            200,
            "",
            None,
        ),
        (
            Action::TagLogGroup,
            json!({ "logGroupName": "g", "tags": many_tags }),
            400,
            "InvalidParameterException",
            None,
        ),
        (Action::UntagLogGroup, json!({ "logGroupName": "g", "tags": keys }), 400, "InvalidParameterException", None),
        (Action::UntagLogGroup, json!({ "logGroupName": "g", "tags": ["k", "k", "k"] }), 200, "", None),
        (
            Action::DescribeTrails,
            json!({ "trailNameList": (0..2_000).map(|i| format!("trail-{i}")).collect::<Vec<_>>() }),
            200,
            "",
            None,
        ),
        // Time ranges: inverted, in the future, at the extremes: an empty page.
        (
            Action::GetLogEvents,
            json!({ "logGroupName": "g", "logStreamName": "s", "startTime": now, "endTime": 0 }),
            200,
            "",
            None,
        ),
        (
            Action::GetLogEvents,
            json!({ "logGroupName": "g", "logStreamName": "s", "startTime": i64::MAX, "endTime": i64::MAX }),
            200,
            "",
            None,
        ),
        (Action::FilterLogEvents, json!({ "logGroupName": "g", "startTime": now, "endTime": 0 }), 200, "", None),
        (Action::FilterLogEvents, json!({ "logGroupName": "g", "startTime": i64::MAX }), 200, "", None),
        (
            Action::LookupEvents,
            json!({ "StartTime": 1e300, "EndTime": -1e300 }),
            400,
            "InvalidTimeRangeException",
            None,
        ),
        (Action::LookupEvents, json!({ "StartTime": -1e300, "EndTime": 1e300 }), 200, "", None),
        (Action::LookupEvents, json!({ "StartTime": 0, "EndTime": 0 }), 200, "", None),
        (
            Action::LookupEvents,
            json!({ "LookupAttributes": [{ "AttributeKey": "ResourceName", "AttributeValue": "\u{1F600}".repeat(2_000) }] }),
            200,
            "",
            None,
        ),
        (
            Action::LookupEvents,
            json!({ "LookupAttributes": [{ "AttributeKey": "EventId", "AttributeValue": "\u{1F600}".repeat(2_000) }] }),
            200,
            "",
            None,
        ),
        // Tokens that do not verify.
        (
            Action::DescribeLogGroups,
            json!({ "nextToken": "x".repeat(100_000) }),
            400,
            "InvalidParameterException",
            Some("The specified nextToken is invalid."),
        ),
        (
            Action::GetLogEvents,
            json!({ "logGroupName": "g", "logStreamName": "s", "nextToken": "f/abc.def" }),
            400,
            "InvalidParameterException",
            Some("The specified nextToken is invalid."),
        ),
        (Action::LookupEvents, json!({ "NextToken": "nope" }), 400, "InvalidNextTokenException", None),
        // Metric filters as AWS answers them.
        (
            Action::PutMetricFilter,
            json!({ "logGroupName": "g", "filterName": "f2", "filterPattern": "{ $.val = * }",
            "metricTransformations": [{ "metricName": "M", "metricNamespace": "My:App", "metricValue": "$.value" }] }),
            200,
            "",
            None,
        ),
        (
            Action::PutMetricFilter,
            json!({ "logGroupName": "g", "filterName": "f3", "filterPattern": "x",
            "metricTransformations": [{ "metricName": "M", "metricNamespace": "A", "metricValue": "1", "unit": "Furlongs" }] }),
            400,
            "InvalidParameterException",
            None,
        ),
        // CloudTrail keeps its own codes.
        (Action::CreateTrail, json!({ "Name": "tr", "S3BucketName": "b" }), 400, "InvalidTrailNameException", None),
        (
            Action::CreateTrail,
            json!({ "Name": "trail-x", "S3BucketName": "missing-bucket-of-nobody", "IsMultiRegionTrail": true,
            "IncludeGlobalServiceEvents": false }),
            400,
            "InvalidParameterCombinationException",
            Some("Multi-Region trail must include global service events."),
        ),
    ];
    for (i, (action, body, status, code, message)) in cases.into_iter().enumerate() {
        let (got, v) = send(&account, action, &body.to_string());
        assert_eq!(got, status, "case {i} ({action}): {}", v.to_string().chars().take(300).collect::<String>());
        if !code.is_empty() {
            assert_eq!(v["__type"], code, "case {i} ({action})");
        }
        if let Some(m) = message {
            assert_eq!(v["message"], m, "case {i} ({action})");
        }
    }
}

/// AWS's JSON services answer a request they cannot read as AWS JSON 1.1 with a bare XML
/// `<UnknownOperationException/>` and 404.
#[test]
fn content_types() {
    let account = new_account();
    let auth = sigv4(&account, "logs");
    let target = ("x-amz-target", "Logs_20140328.DescribeLogGroups");
    for (ct, status) in [
        ("application/x-amz-json-1.1", 200),
        ("application/json", 200),
        ("text/plain", 404),
        ("application/x-www-form-urlencoded", 404),
        ("", 404),
    ] {
        let (got, _, head) = raw_post("/", &[target, ("content-type", ct), ("authorization", &auth)], "{}");
        assert_eq!(got, status, "content type {ct:?}");
        if status == 404 {
            assert!(head.to_ascii_lowercase().contains("content-type: application/xml"), "{head}");
        }
    }
}
