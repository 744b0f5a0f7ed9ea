//! CloudTrail requests (PascalCase members), their validation, and trails.

use logbook_protocol::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

pub const MAX_TRAILS_PER_REGION: i64 = 5;
pub const LOOKUP_WINDOW_MS: i64 = 90 * 86_400_000;
/// How long after StopLogging its own record may be timed (calls end within 29 s).
pub const STOP_RECORD_MS: i64 = 30_000;

/// What LookupEvents can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LookupKey {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl LookupKey {
    pub const ALL: &'static [LookupKey] = &[
        LookupKey::EventId,
        LookupKey::EventName,
        LookupKey::ReadOnly,
        LookupKey::Username,
        LookupKey::ResourceType,
        LookupKey::ResourceName,
        LookupKey::EventSource,
        LookupKey::AccessKeyId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LookupKey::EventId => "EventId",
            LookupKey::EventName => "EventName",
            LookupKey::ReadOnly => "ReadOnly",
            LookupKey::Username => "Username",
            LookupKey::ResourceType => "ResourceType",
            LookupKey::ResourceName => "ResourceName",
            LookupKey::EventSource => "EventSource",
            LookupKey::AccessKeyId => "AccessKeyId",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttributeIn {
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsRequest {
    pub lookup_attributes: Option<Vec<LookupAttributeIn>>,
    /// Epoch seconds, as AWS JSON timestamps travel.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

pub struct LookupEvents {
    pub attribute: Option<(LookupKey, String)>,
    /// Inclusive bounds in milliseconds, resolved against `now`.
    pub start: i64,
    pub end: i64,
    pub max_results: usize,
    pub next_token: Option<String>,
    /// The parameters as the caller sent them: a token is bound to these.
    pub fingerprint: String,
}

impl LookupEventsRequest {
    pub fn validate(self, now: i64) -> Result<LookupEvents, ApiError> {
        let attrs = self.lookup_attributes.unwrap_or_default();
        let invalid = |m: String| ApiError::new(ErrorCode::InvalidLookupAttributesException, m);
        if attrs.len() > 1 {
            return Err(invalid("You can only specify one lookup attribute.".into()));
        }
        let attribute = match attrs.into_iter().next() {
            None => None,
            Some(a) => {
                let key = a.attribute_key.unwrap_or_default();
                let key = LookupKey::ALL.iter().copied().find(|k| k.as_str() == key).ok_or_else(|| {
                    invalid(format!(
                        "Invalid lookup attribute key '{key}'. Valid keys: EventId, EventName, ReadOnly, Username, \
                         ResourceType, ResourceName, EventSource, AccessKeyId."
                    ))
                })?;
                let value = a.attribute_value.unwrap_or_default();
                if value.is_empty() || value.chars().count() > 2000 {
                    return Err(invalid(format!(
                        "The lookup attribute value for {} must be 1 to 2000 characters.",
                        key.as_str()
                    )));
                }
                Some((key, value))
            }
        };
        let max_results = match self.max_results {
            None => 50,
            Some(n @ 1..=50) => n as usize,
            Some(n) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidMaxResultsException,
                    format!("MaxResults must be between 1 and 50; {n} was specified."),
                ));
            }
        };
        // CloudTrail times have whole seconds: a bound covers its whole second. `as` saturates
        // (1e300 is i64::MAX seconds, NaN is 0), and so does the arithmetic after it.
        let start = self.start_time.map(|s| (s.floor() as i64).saturating_mul(1000));
        let end = self.end_time.map(|s| (s.floor() as i64).saturating_mul(1000).saturating_add(999));
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(ApiError::new(
                ErrorCode::InvalidTimeRangeException,
                "The start time must be before the end time.",
            ));
        }
        let fingerprint = format!("{attribute:?}|{start:?}|{end:?}");
        let oldest = now - LOOKUP_WINDOW_MS;
        Ok(LookupEvents {
            attribute,
            start: start.unwrap_or(oldest).max(oldest),
            end: end.unwrap_or(now).min(now),
            max_results,
            next_token: self.next_token,
            fingerprint,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Trails

/// A trail as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trail {
    pub name: String,
    pub home_region: String,
    pub s3_bucket_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: bool,
    pub is_multi_region_trail: bool,
    pub log_file_validation_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub is_logging: bool,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_logging_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_logging_time: Option<i64>,
}

impl Trail {
    /// Settings that cannot go together: a multi-region trail records global service events.
    pub fn check_combination(&self) -> Result<(), ApiError> {
        match (&self.cloud_watch_logs_log_group_arn, &self.cloud_watch_logs_role_arn) {
            (Some(_), None) => {
                return Err(role_without_group());
            }
            (None, Some(_)) => {
                return Err(group_without_role());
            }
            _ => {}
        }
        if self.is_multi_region_trail && !self.include_global_service_events {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterCombinationException,
                "Multi-Region trail must include global service events.",
            ));
        }
        Ok(())
    }

    /// Whether the trail records what happened at `time` (ms): from StartLogging on, and, once
    /// stopped, up to StopLogging.
    pub fn logs_at(&self, time: i64) -> bool {
        let started = self.start_logging_time.is_some_and(|s| time >= s);
        let not_stopped = self.is_logging || self.stop_logging_time.is_some_and(|s| time <= s);
        started && not_stopped
    }

    /// Whether the trail delivers a record: one of the time it logged, or the StopLogging call
    /// that stopped it (recorded just after the stop, and delivered as CloudTrail delivers it;
    /// alarms on StopLogging rely on it).
    pub fn takes(&self, time: i64, event_name: &str, resource_arns: &[&str], account: &str) -> bool {
        if self.logs_at(time) {
            return true;
        }
        let stop = self.stop_logging_time.filter(|_| !self.is_logging);
        event_name == "StopLogging"
            && stop.is_some_and(|s| time >= s && time <= s + STOP_RECORD_MS)
            && resource_arns.contains(&self.arn(account).as_str())
    }

    /// Whether the trail takes records of `region`: its own, or every region's when multi-region.
    pub fn covers(&self, region: &str) -> bool {
        self.is_multi_region_trail || self.home_region == region
    }

    /// The log group records also go to, when the trail names one: (region, account, name).
    pub fn log_group(&self) -> Option<(String, String, String)> {
        self.cloud_watch_logs_log_group_arn.as_deref().and_then(parse_log_group_arn)
    }

    /// The SNS topic ARN log file notifications go to.
    pub fn topic_arn(&self, account: &str) -> Option<String> {
        self.sns_topic_name.as_ref().map(|t| {
            if t.starts_with("arn:") { t.clone() } else { format!("arn:aws:sns:{}:{account}:{t}", self.home_region) }
        })
    }

    pub fn arn(&self, account: &str) -> String {
        trail_arn(&self.home_region, account, &self.name)
    }

    /// The `Trail` shape of DescribeTrails and the body of CreateTrail/UpdateTrail responses.
    pub fn view(&self, account: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            "Name": self.name,
            "S3BucketName": self.s3_bucket_name,
            "IncludeGlobalServiceEvents": self.include_global_service_events,
            "IsMultiRegionTrail": self.is_multi_region_trail,
            "HomeRegion": self.home_region,
            "TrailARN": self.arn(account),
            "LogFileValidationEnabled": self.log_file_validation_enabled,
            "HasCustomEventSelectors": false,
            "HasInsightSelectors": false,
            "IsOrganizationTrail": false,
        });
        let optional = [
            ("S3KeyPrefix", &self.s3_key_prefix),
            ("SnsTopicName", &self.sns_topic_name),
            ("CloudWatchLogsLogGroupArn", &self.cloud_watch_logs_log_group_arn),
            ("CloudWatchLogsRoleArn", &self.cloud_watch_logs_role_arn),
            ("KmsKeyId", &self.kms_key_id),
        ];
        for (k, val) in optional {
            if let Some(x) = val {
                v[k] = serde_json::Value::String(x.clone());
            }
        }
        if let Some(topic) = self.topic_arn(account) {
            v["SnsTopicARN"] = topic.into();
        }
        v
    }
}

/// A log group ARN as CloudTrail takes it (`arn:aws:logs:{region}:{account}:log-group:{name}`,
/// with or without the `:*` DescribeLogGroups shows): (region, account, group name).
pub fn parse_log_group_arn(arn: &str) -> Option<(String, String, String)> {
    crate::arn::parse(arn)
        .filter(|a| a.kind == "log-group")
        .map(|a| (a.region.to_owned(), a.account.to_owned(), a.name.to_owned()))
}

/// A log group ARN given without its role.
fn role_without_group() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCloudWatchLogsRoleArnException,
        "You must specify a role ARN together with a log group ARN.",
    )
}

/// A role ARN given without its log group.
fn group_without_role() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCloudWatchLogsLogGroupArnException,
        "You must specify a log group ARN together with a role ARN.",
    )
}

/// `arn:aws:iam::{account}:role/{path/}{name}`.
pub fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else { return false };
    let Some((account, role)) = rest.split_once(":role/") else { return false };
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !role.is_empty()
        && role.len() <= 512
        && role.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

/// The log stream CloudTrail writes one region's records to in a trail's log group.
pub fn cloudtrail_stream_name(account: &str, region: &str) -> String {
    format!("{account}_CloudTrail_{region}")
}

/// Where CloudTrail puts a log file: `{prefix/}AWSLogs/{account}/CloudTrail/{region}/{yyyy}/{MM}/
/// {dd}/{account}_CloudTrail_{region}_{yyyyMMddTHHmmZ}_{unique}.json.gz`. `time`: ms, the file's
/// delivery time; `unique`: 16 alphanumerics.
pub fn log_file_key(prefix: Option<&str>, account: &str, region: &str, time: &str, unique: &str) -> String {
    // `time` is an ISO 8601 second (`2026-12-07T01:42:02Z`): its date and minute name the file.
    let (y, m, d) = (&time[0..4], &time[5..7], &time[8..10]);
    let (hh, mm) = (&time[11..13], &time[14..16]);
    let head = match prefix.filter(|p| !p.is_empty()) {
        Some(p) => format!("{}/", p.trim_end_matches('/')),
        None => String::new(),
    };
    format!(
        "{head}AWSLogs/{account}/CloudTrail/{region}/{y}/{m}/{d}/{account}_CloudTrail_{region}_{y}{m}{d}T{hh}{mm}Z_{unique}.json.gz"
    )
}

/// What GetTrailStatus reports of a trail's deliveries, and how far its log files have gone.
/// Kept in an item of its own: deliveries update single members, never the trail's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailStatus {
    /// Records up to this audit sort key (time, event id) are in log files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_through: Option<String>,
    /// A log file being written covers records up to here: after a crash, the same file (same
    /// key, same records) is written again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_through: Option<String>,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_attempt_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_notification_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_notification_attempt_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_notification_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_cloud_watch_logs_delivery_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
}

pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
}

/// CreateTrail and UpdateTrail share their members; CreateTrail requires the bucket.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailRequest {
    pub name: Option<String>,
    pub s3_bucket_name: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: Option<bool>,
    pub is_multi_region_trail: Option<bool>,
    pub enable_log_file_validation: Option<bool>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    pub kms_key_id: Option<String>,
}

impl TrailRequest {
    /// Checks every member that is present. The name may be an ARN only when updating.
    pub fn validate(&self, creating: bool) -> Result<(), ApiError> {
        let name = self.name.as_deref().unwrap_or("");
        if creating {
            trail_name(name)?;
        } else {
            name_or_arn(name)?;
        }
        match (&self.s3_bucket_name, creating) {
            (None, true) => {
                return Err(ApiError::new(ErrorCode::InvalidS3BucketNameException, "S3 bucket name is required."));
            }
            (Some(b), _) => bucket_name(b)?,
            (None, false) => {}
        }
        if let Some(p) = &self.s3_key_prefix
            && p.chars().count() > 200
        {
            return Err(ApiError::new(
                ErrorCode::InvalidS3PrefixException,
                "S3 key prefix must be at most 200 characters.",
            ));
        }
        if let Some(t) = &self.sns_topic_name
            && (t.is_empty()
                || t.chars().count() > 256
                || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(ApiError::new(
                ErrorCode::InvalidSnsTopicNameException,
                format!("SNS topic name '{t}' is not valid."),
            ));
        }
        // An empty string clears the setting (UpdateTrail): nothing to check.
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        match (&set(&self.cloud_watch_logs_log_group_arn), &set(&self.cloud_watch_logs_role_arn)) {
            (Some(g), Some(r)) => {
                if parse_log_group_arn(g).is_none() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidCloudWatchLogsLogGroupArnException,
                        format!("CloudWatch Logs log group ARN '{g}' is not valid."),
                    ));
                }
                if !is_role_arn(r) {
                    return Err(ApiError::new(
                        ErrorCode::InvalidCloudWatchLogsRoleArnException,
                        format!("CloudWatch Logs role ARN '{r}' is not valid."),
                    ));
                }
            }
            (Some(_), None) => {
                return Err(role_without_group());
            }
            (None, Some(_)) => {
                return Err(group_without_role());
            }
            (None, None) => {}
        }
        Ok(())
    }
}

impl TrailRequest {
    /// The trail CreateTrail makes (validated with `validate(true)`), homed in `region`; not
    /// logging until StartLogging, as in AWS.
    pub fn into_trail(self, region: &str) -> Trail {
        Trail {
            name: self.name.unwrap_or_default(),
            home_region: region.to_owned(),
            s3_bucket_name: self.s3_bucket_name.unwrap_or_default(),
            s3_key_prefix: self.s3_key_prefix,
            sns_topic_name: self.sns_topic_name,
            include_global_service_events: self.include_global_service_events.unwrap_or(true),
            is_multi_region_trail: self.is_multi_region_trail.unwrap_or(false),
            log_file_validation_enabled: self.enable_log_file_validation.unwrap_or(false),
            cloud_watch_logs_log_group_arn: self.cloud_watch_logs_log_group_arn,
            cloud_watch_logs_role_arn: self.cloud_watch_logs_role_arn,
            kms_key_id: self.kms_key_id,
            is_logging: false,
            start_logging_time: None,
            stop_logging_time: None,
        }
    }

    /// UpdateTrail: every member present replaces the trail's setting; an empty string clears an
    /// optional one, as in AWS.
    pub fn apply_to(self, trail: &mut Trail) {
        if let Some(b) = self.s3_bucket_name {
            trail.s3_bucket_name = b;
        }
        let set = |field: &mut Option<String>, v: Option<String>| {
            if let Some(v) = v {
                *field = Some(v).filter(|s| !s.is_empty());
            }
        };
        set(&mut trail.s3_key_prefix, self.s3_key_prefix);
        set(&mut trail.sns_topic_name, self.sns_topic_name);
        set(&mut trail.cloud_watch_logs_log_group_arn, self.cloud_watch_logs_log_group_arn);
        set(&mut trail.cloud_watch_logs_role_arn, self.cloud_watch_logs_role_arn);
        set(&mut trail.kms_key_id, self.kms_key_id);
        if let Some(g) = self.include_global_service_events {
            trail.include_global_service_events = g;
        }
        if let Some(m) = self.is_multi_region_trail {
            trail.is_multi_region_trail = m;
        }
        if let Some(v) = self.enable_log_file_validation {
            trail.log_file_validation_enabled = v;
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameRequest {
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTrailsRequest {
    pub trail_name_list: Option<Vec<String>>,
    pub include_shadow_trails: Option<bool>,
}

fn invalid_name(m: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidTrailNameException, m)
}

/// CloudTrail's trail name rules, with its messages.
pub fn trail_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if len < 3 {
        return Err(invalid_name(format!(
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {len} characters."
        )));
    }
    if len > 128 {
        return Err(invalid_name(format!(
            "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {len} characters."
        )));
    }
    let punct = |b: u8| matches!(b, b'.' | b'_' | b'-');
    let bytes = name.as_bytes();
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || punct(*b)) {
        return Err(invalid_name(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), \
             hyphens (-), and underscores (_).",
        ));
    }
    if !bytes[0].is_ascii_alphanumeric() {
        return Err(invalid_name("Trail name must starts with a letter or number."));
    }
    if !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return Err(invalid_name("Trail name must ends with a letter or number."));
    }
    if bytes.windows(2).any(|w| punct(w[0]) && punct(w[1])) {
        return Err(invalid_name("Trail name cannot contain consecutive special characters."));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid_name("Trail name cannot be in an IP address format."));
    }
    Ok(())
}

/// A trail named by name or ARN: the (region, name) it refers to; region `None` means the caller's.
pub fn name_or_arn(value: &str) -> Result<(Option<String>, String), ApiError> {
    if let Some(rest) = value.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [_, "cloudtrail", region, _account, resource] = parts.as_slice()
            && let Some(name) = resource.strip_prefix("trail/")
        {
            trail_name(name)?;
            return Ok((Some((*region).to_owned()), name.to_owned()));
        }
        return Err(ApiError::new(
            ErrorCode::CloudTrailARNInvalidException,
            format!(
                "Invalid trail ARN: {value}. The ARN format is arn:aws:cloudtrail:<region>:<account>:trail/<name>."
            ),
        ));
    }
    trail_name(value)?;
    Ok((None, value.to_owned()))
}

/// S3's bucket naming rules.
pub fn bucket_name(b: &str) -> Result<(), ApiError> {
    let bytes = b.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !b.contains("..")
        && b.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidS3BucketNameException, format!("Bucket name '{b}' is not valid.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names() {
        let long = "a".repeat(129);
        let cases: &[(&str, Option<&str>)] = &[
            ("abc", None),
            ("My.Trail_1-x", None),
            (&long[..128], None),
            ("ab", Some("too short")),
            (&long, Some("too long")),
            ("my trail", Some("can only contain")),
            ("-abc", Some("starts with")),
            ("abc.", Some("ends with")),
            ("my-_trail", Some("consecutive")),
            ("my--trail", Some("consecutive")),
            ("192.168.5.4", Some("IP address")),
            ("trail€", Some("can only contain")),
        ];
        for (name, want) in cases {
            let got = trail_name(name).err().map(|e| (e.code, e.message));
            match want {
                None => assert!(got.is_none(), "{name}: {got:?}"),
                Some(w) => {
                    let (code, msg) = got.unwrap_or_else(|| panic!("{name} should be refused"));
                    assert_eq!(code, ErrorCode::InvalidTrailNameException);
                    assert!(msg.contains(w), "{name}: {msg}");
                }
            }
        }
    }

    #[test]
    fn log_group_and_role_arns() {
        type Parsed<'a> = Option<(&'a str, &'a str, &'a str)>;
        let cases: &[(&str, Parsed)] = &[
            (
                "arn:aws:logs:us-east-1:123456789012:log-group:CloudTrail/logs:*",
                Some(("us-east-1", "123456789012", "CloudTrail/logs")),
            ),
            ("arn:aws:logs:eu-west-1:123456789012:log-group:app", Some(("eu-west-1", "123456789012", "app"))),
            ("arn:aws:logs:us-east-1:123:log-group:app", None),
            ("arn:aws:logs:us-east-1:123456789012:log-group:", None),
            ("arn:aws:logs:us-east-1:123456789012:destination:d", None),
            ("arn:aws:logs:us-east-1:123456789012:log-group:a:log-stream:s", None),
            ("cwllga", None),
        ];
        for (arn, want) in cases {
            let got = parse_log_group_arn(arn);
            let want = want.map(|(r, a, n)| (r.to_owned(), a.to_owned(), n.to_owned()));
            assert_eq!(got, want, "{arn}");
        }
        for (arn, ok) in [
            ("arn:aws:iam::123456789012:role/CloudTrail_CloudWatchLogs_Role", true),
            ("arn:aws:iam::123456789012:role/service-role/x", true),
            ("arn:aws:iam::123:role/x", false),
            ("arn:aws:iam::123456789012:user/x", false),
            ("cwlgra", false),
            ("arn:aws:iam::123456789012:role/", false),
        ] {
            assert_eq!(is_role_arn(arn), ok, "{arn}");
        }
    }

    #[test]
    fn log_file_keys() {
        assert_eq!(
            log_file_key(Some("audit/"), "123456789012", "us-east-1", "2026-12-07T01:42:02Z", "AbCdEfGh01234567"),
            "audit/AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/07/123456789012_CloudTrail_us-east-1_20261207T0142Z_AbCdEfGh01234567.json.gz"
        );
        assert!(
            log_file_key(None, "1", "r", "2026-12-07T01:42:02Z", "u").starts_with("AWSLogs/1/CloudTrail/r/2026/12/07/")
        );
    }

    #[test]
    fn logging_windows() {
        let mut t = TrailRequest { name: Some("t1".into()), s3_bucket_name: Some("b".into()), ..Default::default() }
            .into_trail("us-east-1");
        assert!(!t.logs_at(5), "not logging until StartLogging");
        t.is_logging = true;
        t.start_logging_time = Some(10);
        assert!(!t.logs_at(9) && t.logs_at(10) && t.logs_at(1_000));
        t.is_logging = false;
        t.stop_logging_time = Some(20);
        assert!(t.logs_at(20) && !t.logs_at(21));
        let arn = t.arn("123456789012");
        assert!(t.takes(25, "StopLogging", &[&arn], "123456789012"), "its own StopLogging");
        assert!(!t.takes(
            25,
            "StopLogging",
            &["arn:aws:cloudtrail:us-east-1:123456789012:trail/other"],
            "123456789012"
        ));
        assert!(!t.takes(25, "CreateLogGroup", &[&arn], "123456789012"));
        assert!(!t.takes(20 + STOP_RECORD_MS + 1, "StopLogging", &[&arn], "123456789012"));
        assert!(t.covers("us-east-1") && !t.covers("eu-west-1"));
        t.is_multi_region_trail = true;
        assert!(t.covers("eu-west-1"));
    }

    #[test]
    fn arns() {
        assert_eq!(name_or_arn("tr1").unwrap(), (None, "tr1".into()));
        assert_eq!(
            name_or_arn("arn:aws:cloudtrail:eu-west-1:123456789012:trail/tr1").unwrap(),
            (Some("eu-west-1".into()), "tr1".into())
        );
        assert_eq!(name_or_arn("arn:aws:s3:::bucket").unwrap_err().code, ErrorCode::CloudTrailARNInvalidException);
    }

    #[test]
    fn buckets() {
        for (b, ok) in [
            ("my-bucket", true),
            ("a.b.c", true),
            ("ab", false),
            ("Upper", false),
            ("a..b", false),
            ("10.0.0.1", false),
            ("-ab", false),
        ] {
            assert_eq!(bucket_name(b).is_ok(), ok, "{b}");
        }
    }

    #[test]
    fn lookup_validation() {
        let now = 100 * 86_400_000;
        let attr =
            |k: &str, v: &str| LookupAttributeIn { attribute_key: Some(k.into()), attribute_value: Some(v.into()) };
        let cases: Vec<(LookupEventsRequest, Option<ErrorCode>)> = vec![
            (LookupEventsRequest::default(), None),
            (
                LookupEventsRequest {
                    lookup_attributes: Some(vec![attr("EventName", "CreateLogGroup")]),
                    ..Default::default()
                },
                None,
            ),
            (
                LookupEventsRequest { lookup_attributes: Some(vec![attr("Bogus", "x")]), ..Default::default() },
                Some(ErrorCode::InvalidLookupAttributesException),
            ),
            (
                LookupEventsRequest {
                    lookup_attributes: Some(vec![attr("EventName", "a"), attr("Username", "b")]),
                    ..Default::default()
                },
                Some(ErrorCode::InvalidLookupAttributesException),
            ),
            (
                LookupEventsRequest { lookup_attributes: Some(vec![attr("EventName", "")]), ..Default::default() },
                Some(ErrorCode::InvalidLookupAttributesException),
            ),
            (
                LookupEventsRequest { max_results: Some(0), ..Default::default() },
                Some(ErrorCode::InvalidMaxResultsException),
            ),
            (
                LookupEventsRequest { max_results: Some(51), ..Default::default() },
                Some(ErrorCode::InvalidMaxResultsException),
            ),
            (
                LookupEventsRequest { start_time: Some(10.0), end_time: Some(5.0), ..Default::default() },
                Some(ErrorCode::InvalidTimeRangeException),
            ),
        ];
        for (i, (req, want)) in cases.into_iter().enumerate() {
            assert_eq!(req.validate(now).err().map(|e| e.code), want, "case {i}");
        }
        let l = LookupEventsRequest::default().validate(now).unwrap();
        assert_eq!((l.start, l.end, l.max_results), (now - LOOKUP_WINDOW_MS, now, 50));
        let old = LookupEventsRequest { start_time: Some(0.0), ..Default::default() }.validate(now).unwrap();
        assert_eq!(old.start, now - LOOKUP_WINDOW_MS, "history older than 90 days is hidden");
    }
}
