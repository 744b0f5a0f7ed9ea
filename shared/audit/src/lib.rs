//! CloudTrail-style audit records. The request pipeline builds one for every management call it
//! serves (success or failure, reads included; data events only when asked: [`is_recorded`]) and
//! stores it before the response leaves, so no action can forget it. This crate is pure: it turns a call and its outcome into a record; the storage crate
//! persists it and LookupEvents reads it back.

use std::fmt::Write as _;

use logbook_protocol::{Action, ApiError, Call, Service};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// CloudTrail's current event schema version.
pub const EVENT_VERSION: &str = "1.09";
/// Records are kept (and visible) for 90 days, as CloudTrail's event history.
pub const RETENTION_DAYS: i64 = 90;

/// A resource a call touched, as LookupEvents reports and indexes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resource {
    pub resource_type: String,
    pub name: String,
    pub arn: String,
}

/// One audit record: the fields LookupEvents filters on, and the CloudTrailEvent JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    pub event_id: String,
    /// Milliseconds since the epoch.
    pub event_time: i64,
    pub event_name: String,
    pub event_source: String,
    pub read_only: bool,
    pub access_key_id: Option<String>,
    pub username: Option<String>,
    pub resources: Vec<Resource>,
    pub cloudtrail_event: String,
}

/// Actions that change nothing.
pub fn is_read_only(action: Action) -> bool {
    action.is_read_only()
}

/// CloudTrail classifies log ingestion and reads as data events, everything else as management.
fn is_data_event(action: Action) -> bool {
    matches!(action, Action::PutLogEvents | Action::GetLogEvents | Action::FilterLogEvents)
}

/// Whether a call of `action` is recorded: every management call; data events (PutLogEvents,
/// GetLogEvents, FilterLogEvents) only with [`data_events_enabled`], as CloudTrail's event
/// history shows management events only and data events need a trail's selectors.
pub fn is_recorded(action: Action) -> bool {
    !is_data_event(action) || data_events_enabled()
}

/// A record's event id: a UUID (version 7) whose time is the record's event time to the
/// millisecond, so the record's key follows from its id (LookupEvents by EventId is one GetItem,
/// with no pointer item to write).
pub fn event_id_at(event_time: i64) -> String {
    let ms = event_time.max(0) as u64;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    uuid::Uuid::new_v7(ts).to_string()
}

/// The event time (ms) an id made by [`event_id_at`] carries; `None` for any other id.
pub fn event_id_time(event_id: &str) -> Option<i64> {
    let u = uuid::Uuid::parse_str(event_id).ok()?;
    if u.get_version_num() != 7 || u.hyphenated().to_string() != event_id {
        return None;
    }
    let (secs, nanos) = u.get_timestamp()?.to_unix();
    Some(secs as i64 * 1000 + i64::from(nanos / 1_000_000))
}

/// [`is_data_event`] of a record's `eventName`.
pub fn is_data_event_name(event_name: &str) -> bool {
    matches!(event_name, "PutLogEvents" | "GetLogEvents" | "FilterLogEvents")
}

/// Whether data events are recorded and delivered: `LOGBOOK_AUDIT_DATA_EVENTS=1` (as a trail
/// with data event selectors in AWS). Trails deliver management events only otherwise.
pub fn data_events_enabled() -> bool {
    std::env::var("LOGBOOK_AUDIT_DATA_EVENTS").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// Request members left out of `requestParameters`: message bodies (large, and possibly
/// sensitive) and anything secret-shaped.
const REDACTED: &[&str] = &["logEvents", "logEventMessages", "policyDocument", "accessPolicy"];

/// What a record may keep of a request, so that no request can make its record fail (DynamoDB
/// takes items up to 400 KB; a record is written after the change it records committed):
/// a member's JSON over `MEMBER_MAX` bytes is replaced by a note of its size, and parameters over
/// `PARAMETERS_MAX` in all by one note; at most `RESOURCES_MAX` resources, names of at most
/// `NAME_MAX` bytes; an error message of at most `MESSAGE_MAX` bytes.
const MEMBER_MAX: usize = 4_096;
const PARAMETERS_MAX: usize = 32_768;
const RESOURCES_MAX: usize = 50;
const NAME_MAX: usize = 2_048;
const MESSAGE_MAX: usize = 2_048;

/// `requestParameters` bounded (see [`MEMBER_MAX`]).
fn bounded_parameters(mut r: Map<String, Value>) -> Value {
    for k in REDACTED {
        r.remove(*k);
    }
    for v in r.values_mut() {
        let size = v.to_string().len();
        if size > MEMBER_MAX {
            *v = Value::String(format!("(omitted: {size} bytes)"));
        }
    }
    let total = Value::Object(r).to_string();
    if total.len() > PARAMETERS_MAX {
        return json!({ "omitted": format!("{} bytes of request parameters", total.len()) });
    }
    serde_json::from_str(&total).unwrap_or(Value::Null)
}

/// Text cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Builds the record for `call`, which ended in `outcome`, at `event_time` (ms).
pub fn build(call: &Call, outcome: &Result<Value, ApiError>, event_time: i64) -> AuditRecord {
    let id = &call.identity;
    let action = call.action;
    let event_id = event_id_at(event_time);
    let request: Option<Map<String, Value>> = serde_json::from_slice(call.body()).ok();
    let mut resources = request.as_ref().map(|r| resources(call, r)).unwrap_or_default();
    resources.retain(|r| r.name.len() <= NAME_MAX && r.arn.len() <= NAME_MAX);
    resources.truncate(RESOURCES_MAX);
    let read_only = is_read_only(action);
    let username = match (&id.user_name, &id.access_key_id) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(_)) => Some("root".to_owned()),
        (None, None) => None,
    };

    let parameters = request.map(bounded_parameters);
    let response = match outcome {
        Ok(v) if !read_only && !v.is_null() && v.to_string().len() <= PARAMETERS_MAX => v.clone(),
        _ => Value::Null,
    };
    let user_identity = match &id.user_name {
        Some(u) => json!({
            "type": "IAMUser",
            "principalId": principal_id(&id.account_id, u),
            "arn": id.principal_arn(),
            "accountId": id.account_id,
            "accessKeyId": id.access_key_id,
            "userName": u,
        }),
        None => json!({
            "type": "Root",
            "principalId": id.account_id,
            "arn": id.principal_arn(),
            "accountId": id.account_id,
            "accessKeyId": id.access_key_id,
        }),
    };
    let mut event = json!({
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity,
        "eventTime": iso8601(event_time),
        "eventSource": action.service().event_source(),
        "eventName": action.name(),
        "awsRegion": id.region,
        "sourceIPAddress": call.source_ip.as_deref().unwrap_or("127.0.0.1"),
        "userAgent": cut(call.user_agent.as_deref().unwrap_or(""), 1_024),
        "requestParameters": parameters,
        "responseElements": response,
        "requestID": call.request_id,
        "eventID": event_id,
        "readOnly": read_only,
        "resources": resources.iter().map(|r| json!({
            "accountId": id.account_id, "type": r.resource_type, "ARN": r.arn,
        })).collect::<Vec<_>>(),
        "eventType": "AwsApiCall",
        "managementEvent": !is_data_event(action),
        "recipientAccountId": id.account_id,
        "eventCategory": if is_data_event(action) { "Data" } else { "Management" },
    });
    if let Err(e) = outcome {
        event["errorCode"] = Value::String(e.code.as_str().to_owned());
        event["errorMessage"] = Value::String(cut(&e.message, MESSAGE_MAX));
    }
    AuditRecord {
        event_id,
        event_time,
        event_name: action.name().to_owned(),
        event_source: action.service().event_source().to_owned(),
        read_only,
        access_key_id: id.access_key_id.clone(),
        username,
        resources,
        cloudtrail_event: event.to_string(),
    }
}

/// The resources a request names: log groups, streams, filters, trails.
fn resources(call: &Call, request: &Map<String, Value>) -> Vec<Resource> {
    let id = &call.identity;
    let (region, account) = (id.region.as_str(), id.account_id.as_str());
    let text = |k: &str| request.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut out = Vec::new();
    match call.action.service() {
        Service::Logs => {
            let group_arn = |g: &str| format!("arn:aws:logs:{region}:{account}:log-group:{g}");
            // Today's API names a group by `logGroupIdentifier` (name or ARN) or `resourceArn`.
            let by_arn = |member: &str, kind: &str| {
                text(member).and_then(|t| match logbook_model::arn::parse(t) {
                    Some(a) if a.kind == kind => Some(a.name),
                    Some(_) => None,
                    None if member == "logGroupIdentifier" && !t.starts_with("arn:") => Some(t),
                    None => None,
                })
            };
            let group = text("logGroupName")
                .or_else(|| by_arn("logGroupIdentifier", "log-group"))
                .or_else(|| by_arn("resourceArn", "log-group"));
            if let Some(d) = by_arn("resourceArn", "destination") {
                let arn = format!("arn:aws:logs:{region}:{account}:destination:{d}");
                out.push(Resource { resource_type: "AWS::Logs::Destination".into(), name: d.into(), arn });
            }
            if let Some(g) = group {
                out.push(Resource { resource_type: "AWS::Logs::LogGroup".into(), name: g.into(), arn: group_arn(g) });
                if let Some(s) = text("logStreamName") {
                    let arn = format!("{}:log-stream:{s}", group_arn(g));
                    out.push(Resource { resource_type: "AWS::Logs::LogStream".into(), name: s.into(), arn });
                }
                if let Some(f) = text("filterName") {
                    let kind = if call.action.name().contains("Subscription") {
                        "AWS::Logs::SubscriptionFilter"
                    } else {
                        "AWS::Logs::MetricFilter"
                    };
                    let arn = format!("{}:filter:{f}", group_arn(g));
                    out.push(Resource { resource_type: kind.into(), name: f.into(), arn });
                }
            }
            if let Some(d) = text("destinationName") {
                let arn = format!("arn:aws:logs:{region}:{account}:destination:{d}");
                out.push(Resource { resource_type: "AWS::Logs::Destination".into(), name: d.into(), arn });
            }
        }
        Service::CloudTrail => {
            let mut names: Vec<&str> = text("Name").into_iter().collect();
            if let Some(list) = request.get("trailNameList").and_then(Value::as_array) {
                names.extend(list.iter().filter_map(Value::as_str));
            }
            for n in names {
                let name = n.rsplit_once(":trail/").map_or(n, |(_, t)| t);
                let arn = format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}");
                out.push(Resource { resource_type: "AWS::CloudTrail::Trail".into(), name: name.into(), arn });
            }
        }
    }
    out
}

/// A stable, IAM-looking principal id for a configured user name.
fn principal_id(account: &str, user: &str) -> String {
    let digest = Sha256::digest(format!("{account}/{user}"));
    let mut id = String::from("AIDA");
    for b in &digest[..9] {
        let _ = write!(id, "{b:02X}");
    }
    id.truncate(21);
    id
}

/// `2026-11-20T23:01:34Z`, CloudTrail's `eventTime` form.
pub fn iso8601(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2026-11-20T23:01:34.567Z`: an exported log line's timestamp (UTC, milliseconds; 24 characters).
pub fn iso8601_millis(ms: i64) -> String {
    format!("{}.{:03}Z", iso8601(ms).trim_end_matches('Z'), ms.rem_euclid(1000))
}

/// `2026-11-20`: the day bucket of a timestamp (UTC).
pub fn day(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian, UTC).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_carry_their_time() {
        for ms in [0, 1, 999, 1_796_083_262_345, 4_102_444_799_999] {
            let id = event_id_at(ms);
            assert_eq!(id.len(), 36, "{id}");
            assert_eq!(event_id_time(&id), Some(ms), "{id}");
        }
        assert_ne!(event_id_at(5), event_id_at(5), "random beyond the time");
        for other in ["3d3b5a2c-8a41-4b7e-9c3a-1f0e2d4c5b6a", "not-an-id", "", "00000001-bench"] {
            assert_eq!(event_id_time(other), None, "{other}");
        }
        // Upper case is another string: not the id a record was stored under.
        assert_eq!(event_id_time(&event_id_at(7).to_uppercase()), None);
    }

    #[test]
    fn millisecond_times_are_utc() {
        for (ms, want) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1, "1970-01-01T00:00:00.001Z"),
            (951_782_400_999, "2000-02-29T00:00:00.999Z"),
            (1_796_083_262_345, "2026-12-01T00:01:02.345Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(iso8601_millis(ms), want, "{ms}");
        }
    }
    use logbook_protocol::{ErrorCode, Identity};

    fn call(action: Action, body: &str, user: Option<&str>) -> Call {
        Call::new(
            action,
            Identity {
                account_id: "111122223333".into(),
                region: "eu-west-1".into(),
                access_key_id: Some("AKIDEXAMPLE".into()),
                user_name: user.map(str::to_owned),
            },
            "req-1".into(),
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn dates() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_795_215_679_900, "2026-11-20T23:01:19Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(iso8601(ms), want);
        }
        assert_eq!(day(1_795_215_679_900), "2026-11-20");
        assert_eq!(day(-1), "1969-12-31");
    }

    #[test]
    fn a_successful_write() {
        let c = call(Action::CreateLogStream, r#"{"logGroupName":"app","logStreamName":"web"}"#, Some("alice"));
        let r = build(&c, &Ok(Value::Null), 1_795_215_679_900);
        assert_eq!(
            (r.event_name.as_str(), r.event_source.as_str(), r.read_only),
            ("CreateLogStream", "logs.amazonaws.com", false)
        );
        assert_eq!(r.username.as_deref(), Some("alice"));
        assert_eq!(r.resources.len(), 2);
        assert_eq!(r.resources[1].arn, "arn:aws:logs:eu-west-1:111122223333:log-group:app:log-stream:web");
        let e: Value = serde_json::from_str(&r.cloudtrail_event).unwrap();
        assert_eq!(e["userIdentity"]["type"], "IAMUser");
        assert_eq!(e["userIdentity"]["arn"], "arn:aws:iam::111122223333:user/alice");
        assert_eq!(e["eventTime"], "2026-11-20T23:01:19Z");
        assert_eq!(e["eventID"], r.event_id);
        assert_eq!(e["requestID"], "req-1");
        assert_eq!(e["requestParameters"]["logStreamName"], "web");
        assert_eq!(e["managementEvent"], true);
        assert!(e.get("errorCode").is_none());
    }

    #[test]
    fn failures_and_redaction() {
        let c = call(
            Action::PutLogEvents,
            r#"{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"secret"}]}"#,
            None,
        );
        let err = ApiError::not_found("The specified log group does not exist.");
        let r = build(&c, &Err(err), 0);
        assert!(!r.cloudtrail_event.contains("secret"), "message bodies never reach the record");
        let e: Value = serde_json::from_str(&r.cloudtrail_event).unwrap();
        assert_eq!(e["errorCode"], ErrorCode::ResourceNotFoundException.as_str());
        assert_eq!(e["errorMessage"], "The specified log group does not exist.");
        assert_eq!(e["eventCategory"], "Data");
        assert_eq!(e["userIdentity"]["type"], "Root");
        assert_eq!(r.username.as_deref(), Some("root"));
    }

    #[test]
    fn no_request_makes_a_record_too_big_to_store() {
        let huge = "x".repeat(450_000);
        let many_tags: Map<String, Value> = (0..30_000).map(|i| (format!("k{i}"), json!("v"))).collect();
        let trails: Vec<String> = (0..2_000).map(|i| format!("trail-{i}")).collect();
        let bodies = [
            json!({ "logGroupName": huge, "filterPattern": huge }),
            json!({ "logGroupName": "g", "tags": many_tags }),
            json!({ "logGroupName": "g", "unknownMember": huge, "another": huge }),
            json!({ "trailNameList": trails }),
        ];
        for body in bodies {
            for action in [Action::CreateLogGroup, Action::DescribeTrails] {
                let c = call(action, &body.to_string(), Some(&"u".repeat(64)));
                let err = ApiError::invalid_parameter(format!("1 validation error detected: Value '{huge}'"));
                for outcome in [Ok(Value::Null), Err(err)] {
                    let r = build(&c, &outcome, 0);
                    let size = serde_json::to_string(&r).unwrap().len();
                    assert!(size < 120_000, "{action}: a record of {size} bytes");
                    assert!(r.resources.len() <= RESOURCES_MAX);
                    let e: Value = serde_json::from_str(&r.cloudtrail_event).unwrap();
                    assert!(e["requestParameters"].is_object(), "something of the request is kept");
                }
            }
        }
    }

    #[test]
    fn reads_and_trails() {
        let c = call(
            Action::DescribeTrails,
            r#"{"trailNameList":["a","arn:aws:cloudtrail:eu-west-1:111122223333:trail/b"]}"#,
            None,
        );
        let r = build(&c, &Ok(json!({"trailList": []})), 0);
        assert!(r.read_only);
        let names: Vec<_> = r.resources.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let e: Value = serde_json::from_str(&r.cloudtrail_event).unwrap();
        assert_eq!(e["eventSource"], "cloudtrail.amazonaws.com");
        assert_eq!(e["responseElements"], Value::Null, "reads record no response");
        for a in [
            Action::DescribeLogGroups,
            Action::LookupEvents,
            Action::FilterLogEvents,
            Action::TestMetricFilter,
            Action::GetTrailStatus,
            Action::ListTagsLogGroup,
        ] {
            assert!(is_read_only(a), "{a}");
        }
        for a in [Action::CreateTrail, Action::PutLogEvents, Action::StartLogging, Action::TagLogGroup] {
            assert!(!is_read_only(a), "{a}");
        }
    }
}
