//! CloudWatch Logs resources, requests and their validation into typed commands.
//!
//! Request types mirror the wire (camelCase, every member optional so that a missing one becomes a
//! constraint violation rather than a serde error); `validate` turns them into commands whose
//! fields are known good.

use std::collections::{BTreeMap, HashMap};

use logbook_protocol::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::arn;
use crate::validate::{NAME_MAX, Violations, is_group_name_char};

/// The retention values AWS accepts, in days.
pub const RETENTION_DAYS: &[i64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
pub const MAX_LOG_GROUPS: i64 = 5_000;
pub const MAX_TAGS: usize = 50;
const TAG_KEY_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$";
const TAG_VALUE_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

pub const STANDARD: &str = "STANDARD";
pub const INFREQUENT_ACCESS: &str = "INFREQUENT_ACCESS";
pub const DELIVERY: &str = "DELIVERY";
const CLASSES: [&str; 3] = [STANDARD, INFREQUENT_ACCESS, DELIVERY];

pub const GROUP_EXISTS: &str = "The specified log group already exists";
pub const GROUP_MISSING: &str = "The specified log group does not exist.";
pub const STREAM_EXISTS: &str = "The specified log stream already exists";
pub const STREAM_MISSING: &str = "The specified log stream does not exist.";

// ---------------------------------------------------------------------------------------------
// Resources

/// A log group as stored. `id` is immutable and unique: children are keyed by it, so a deleted
/// group's children vanish with it and a re-created group starts empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroup {
    pub id: String,
    pub name: String,
    pub creation_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub metric_filter_count: i64,
    /// Kept exact by the same transactions that create and delete them (at most two).
    #[serde(default)]
    pub subscription_filter_count: i64,
    #[serde(default)]
    pub stored_bytes: i64,
    /// The id of the zstd dictionary new chunks are compressed with (trained by the worker from
    /// the group's own chunks once it is busy); none until then.
    #[serde(default, rename = "dict", skip_serializing_if = "Option::is_none")]
    pub dictionary: Option<String>,
    /// `INFREQUENT_ACCESS`, or none for `STANDARD` (groups made before classes were served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_class: Option<String>,
    /// DeleteLogGroup is refused while set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletion_protection_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupView {
    pub log_group_name: String,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i64>,
    pub metric_filter_count: i64,
    pub arn: String,
    pub stored_bytes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub log_group_class: String,
    pub log_group_arn: String,
    pub deletion_protection_enabled: bool,
}

const DAY: i64 = 86_400_000;

impl LogGroup {
    /// The oldest event time still visible at `now`: events past the retention are hidden on
    /// read, before DynamoDB gets round to deleting them.
    pub fn retention_floor(&self, now: i64) -> i64 {
        self.retention_in_days.map_or(0, |d| now.saturating_sub(d.saturating_mul(DAY)))
    }

    pub fn view(&self, region: &str, account: &str) -> LogGroupView {
        LogGroupView {
            log_group_name: self.name.clone(),
            creation_time: self.creation_time,
            retention_in_days: self.retention_in_days,
            metric_filter_count: self.metric_filter_count,
            arn: arn::log_group_wildcard(region, account, &self.name),
            stored_bytes: self.stored_bytes,
            kms_key_id: self.kms_key_id.clone(),
            log_group_class: self.class().to_owned(),
            log_group_arn: arn::log_group(region, account, &self.name),
            deletion_protection_enabled: self.deletion_protection_enabled,
        }
    }

    /// Its log group class.
    pub fn class(&self) -> &str {
        self.log_group_class.as_deref().unwrap_or(STANDARD)
    }

    /// Whether it is of `class` (any, when none is asked for).
    pub fn in_class(&self, class: Option<&str>) -> bool {
        class.is_none_or(|c| self.class() == c)
    }

    /// DescribeLogGroups' entry when a `logGroupNamePattern` was given: AWS documents that only
    /// `arn`, `creationTime` and `logGroupName` come back then.
    pub fn pattern_view(&self, region: &str, account: &str) -> serde_json::Value {
        serde_json::json!({
            "logGroupName": self.name,
            "creationTime": self.creation_time,
            "arn": arn::log_group_wildcard(region, account, &self.name),
        })
    }

    /// ListLogGroups' entry (`LogGroupSummary`).
    pub fn summary(&self, region: &str, account: &str) -> serde_json::Value {
        serde_json::json!({
            "logGroupName": self.name,
            "logGroupArn": arn::log_group(region, account, &self.name),
            "logGroupClass": self.class(),
        })
    }
}

/// A log stream as stored; the event fields are filled in by ingestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStream {
    pub id: String,
    pub name: String,
    pub creation_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ingestion_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_sequence_token: Option<String>,
    /// The widest span (last event − first, ms) of any chunk stored in this stream, so a read
    /// knows how far back a chunk reaching its window can start without reading anything else.
    /// `None` for a stream made before it was recorded (reads then use the per-hour spans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_span: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamView {
    pub log_stream_name: String,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ingestion_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_sequence_token: Option<String>,
    pub arn: String,
    /// Deprecated by AWS and always 0 there too.
    pub stored_bytes: i64,
}

impl LogStream {
    /// A new, empty stream with a fresh immutable id.
    pub fn new(name: String, now: i64) -> LogStream {
        LogStream {
            id: ulid::Ulid::new().to_string(),
            name,
            creation_time: now,
            first_event_timestamp: None,
            last_event_timestamp: None,
            last_ingestion_time: None,
            upload_sequence_token: None,
            max_span: Some(0),
        }
    }

    pub fn view(&self, region: &str, account: &str, group: &str) -> LogStreamView {
        LogStreamView {
            log_stream_name: self.name.clone(),
            creation_time: self.creation_time,
            first_event_timestamp: self.first_event_timestamp,
            last_event_timestamp: self.last_event_timestamp,
            last_ingestion_time: self.last_ingestion_time,
            upload_sequence_token: self.upload_sequence_token.clone(),
            arn: arn::log_stream(region, account, group, &self.name),
            stored_bytes: 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Every request that names just a log group.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRequest {
    pub log_group_name: Option<String>,
}

impl GroupRequest {
    pub fn validate(self) -> Result<String, ApiError> {
        let mut v = Violations::new();
        let name = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", name);
        v.finish()?;
        Ok(self.log_group_name.unwrap_or_default())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogGroupRequest {
    pub log_group_name: Option<String>,
    pub kms_key_id: Option<String>,
    pub tags: Option<HashMap<String, String>>,
    pub log_group_class: Option<String>,
    pub deletion_protection_enabled: Option<bool>,
}

pub struct CreateLogGroup {
    pub name: String,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub class: Option<String>,
    pub deletion_protection: bool,
}

impl CreateLogGroup {
    /// The new group, with a fresh immutable id.
    pub fn into_group(self, now: i64) -> LogGroup {
        LogGroup {
            id: ulid::Ulid::new().to_string(),
            name: self.name,
            creation_time: now,
            retention_in_days: None,
            kms_key_id: self.kms_key_id,
            tags: self.tags,
            metric_filter_count: 0,
            subscription_filter_count: 0,
            stored_bytes: 0,
            dictionary: None,
            log_group_class: self.class,
            deletion_protection_enabled: self.deletion_protection,
        }
    }
}

impl CreateLogGroupRequest {
    pub fn validate(self) -> Result<CreateLogGroup, ApiError> {
        let mut v = Violations::new();
        let name = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", name);
        v.length("kmsKeyId", self.kms_key_id.as_deref(), 0, 256);
        if let Some(tags) = &self.tags {
            tag_map(&mut v, tags, 1);
        }
        v.one_of("logGroupClass", self.log_group_class.as_deref(), &CLASSES);
        v.finish()?;
        if let Some(k) = &self.kms_key_id {
            kms_key_arn(k)?;
        }
        if let Some(tags) = &self.tags {
            reserved_tag_keys(tags.keys())?;
        }
        if self.log_group_class.as_deref() == Some(DELIVERY) {
            return Err(ApiError::invalid_parameter(
                "The DELIVERY log group class is for vended logs delivered to Amazon S3 or Firehose, which Logbook does not serve; use STANDARD or INFREQUENT_ACCESS.",
            ));
        }
        Ok(CreateLogGroup {
            name: self.log_group_name.unwrap_or_default(),
            kms_key_id: self.kms_key_id,
            tags: self.tags.unwrap_or_default().into_iter().collect(),
            // STANDARD is stored as no class: groups from before classes read the same.
            class: self.log_group_class.filter(|c| c != STANDARD),
            deletion_protection: self.deletion_protection_enabled.unwrap_or(false),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsRequest {
    pub log_group_name_prefix: Option<String>,
    pub log_group_name_pattern: Option<String>,
    pub log_group_class: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

pub struct DescribeLogGroups {
    pub prefix: Option<String>,
    /// A case-sensitive substring of the names wanted.
    pub pattern: Option<String>,
    pub class: Option<String>,
    pub next_token: Option<String>,
    pub limit: usize,
}

impl DescribeLogGroups {
    /// Whether a group listed by prefix is wanted.
    pub fn wants(&self, g: &LogGroup) -> bool {
        self.pattern.as_deref().is_none_or(|p| g.name.contains(p))
            && self.class.as_deref().is_none_or(|c| g.class() == c)
    }
}

pub const PREFIX_AND_PATTERN: &str =
    "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.";

impl DescribeLogGroupsRequest {
    pub fn validate(self) -> Result<DescribeLogGroups, ApiError> {
        let mut v = Violations::new();
        v.group_name("logGroupNamePrefix", self.log_group_name_prefix.as_deref());
        v.length("logGroupNamePattern", self.log_group_name_pattern.as_deref(), 0, NAME_MAX);
        v.pattern(
            "logGroupNamePattern",
            self.log_group_name_pattern.as_deref(),
            |s| s.chars().all(is_group_name_char),
            r"[\.\-_/#A-Za-z0-9]*",
        );
        v.one_of("logGroupClass", self.log_group_class.as_deref(), &CLASSES);
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.finish()?;
        if self.log_group_name_prefix.is_some() && self.log_group_name_pattern.is_some() {
            return Err(ApiError::invalid_parameter(PREFIX_AND_PATTERN));
        }
        Ok(DescribeLogGroups {
            prefix: self.log_group_name_prefix,
            pattern: self.log_group_name_pattern.filter(|p| !p.is_empty()),
            class: self.log_group_class,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

/// ListLogGroups (today's API): the account's groups by name, as summaries.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListLogGroupsRequest {
    pub log_group_name_pattern: Option<String>,
    pub log_group_class: Option<String>,
    /// Cross-account observability is not served: without linked accounts nothing changes.
    pub include_linked_accounts: Option<bool>,
    pub account_identifiers: Option<Vec<String>>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

pub struct ListLogGroups {
    pub pattern: Option<NamePattern>,
    pub class: Option<String>,
    pub next_token: Option<String>,
    pub limit: usize,
}

impl ListLogGroups {
    pub fn wants(&self, g: &LogGroup) -> bool {
        self.pattern.as_ref().is_none_or(|p| p.matches(&g.name)) && g.in_class(self.class.as_deref())
    }
}

/// ListLogGroups' `logGroupNamePattern`: up to five alternatives split by `|`, each 3–24 of the
/// name characters, `^` anchoring one at the start of the name; a regular expression whose only
/// other special character that names may hold is `.`, any character. Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern(Vec<(bool, Vec<char>)>);

const LIST_PATTERN: &str = r"(\^?[\.\-_\/#A-Za-z0-9]{3,24})(\|\^?[\.\-_\/#A-Za-z0-9]{3,24}){0,4}";

impl NamePattern {
    pub fn parse(text: &str) -> Option<NamePattern> {
        let alternatives: Vec<&str> = text.split('|').collect();
        if alternatives.len() > 5 {
            return None;
        }
        let mut out = Vec::new();
        for a in alternatives {
            let (anchored, body) = match a.strip_prefix('^') {
                Some(b) => (true, b),
                None => (false, a),
            };
            let len = body.chars().count();
            if !(3..=24).contains(&len) || !body.chars().all(is_group_name_char) {
                return None;
            }
            out.push((anchored, body.chars().collect()));
        }
        Some(NamePattern(out))
    }

    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let at = |start: usize, body: &[char]| {
            name.len() >= start + body.len() && body.iter().zip(&name[start..]).all(|(p, c)| *p == '.' || p == c)
        };
        self.0.iter().any(|(anchored, body)| {
            if *anchored { at(0, body) } else { (0..=name.len().saturating_sub(body.len())).any(|s| at(s, body)) }
        })
    }
}

impl ListLogGroupsRequest {
    pub fn validate(self) -> Result<ListLogGroups, ApiError> {
        let mut v = Violations::new();
        let pattern = self.log_group_name_pattern.as_deref();
        v.length("logGroupNamePattern", pattern, 3, 129);
        let parsed = pattern.and_then(NamePattern::parse);
        if pattern.is_some() && parsed.is_none() {
            v.push(
                "logGroupNamePattern",
                pattern,
                &format!("Member must satisfy regular expression pattern: {LIST_PATTERN}"),
            );
        }
        v.one_of("logGroupClass", self.log_group_class.as_deref(), &CLASSES);
        if let Some(accounts) = &self.account_identifiers {
            v.count("accountIdentifiers", accounts.len(), 0, 20);
        }
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 1000);
        v.finish()?;
        Ok(ListLogGroups {
            pattern: parsed,
            class: self.log_group_class,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

/// PutLogGroupDeletionProtection.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogGroupDeletionProtectionRequest {
    pub log_group_identifier: Option<String>,
    pub deletion_protection_enabled: Option<bool>,
}

impl PutLogGroupDeletionProtectionRequest {
    /// (the identifier as given, whether protection is on).
    pub fn validate(self) -> Result<(String, bool), ApiError> {
        let mut v = Violations::new();
        v.required("logGroupIdentifier", self.log_group_identifier.as_deref());
        if self.deletion_protection_enabled.is_none() {
            v.required("deletionProtectionEnabled", None);
        }
        v.finish()?;
        Ok((self.log_group_identifier.unwrap_or_default(), self.deletion_protection_enabled.unwrap_or_default()))
    }
}

/// DeleteLogGroup's answer for a protected group (AWS's documented error and sentence).
pub const DELETION_PROTECTED: &str =
    "Cannot delete log group with deletion protection enabled. Disable deletion protection first.";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicyRequest {
    pub log_group_name: Option<String>,
    pub retention_in_days: Option<i64>,
}

impl PutRetentionPolicyRequest {
    pub fn validate(self) -> Result<(String, i64), ApiError> {
        let mut v = Violations::new();
        let name = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", name);
        let days = self.retention_in_days.map(|d| d.to_string());
        v.required("retentionInDays", days.as_deref());
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(i64::to_string).collect();
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        v.one_of("retentionInDays", days.as_deref(), &allowed);
        v.finish()?;
        Ok((self.log_group_name.unwrap_or_default(), self.retention_in_days.unwrap_or_default()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroupRequest {
    pub log_group_name: Option<String>,
    pub tags: Option<HashMap<String, String>>,
}

impl TagLogGroupRequest {
    pub fn validate(self) -> Result<(String, BTreeMap<String, String>), ApiError> {
        let mut v = Violations::new();
        let name = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", name);
        required_tags(&mut v, self.tags.as_ref());
        v.finish()?;
        let tags = self.tags.unwrap_or_default();
        reserved_tag_keys(tags.keys())?;
        Ok((self.log_group_name.unwrap_or_default(), tags.into_iter().collect()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroupRequest {
    pub log_group_name: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl UntagLogGroupRequest {
    pub fn validate(self) -> Result<(String, Vec<String>), ApiError> {
        let mut v = Violations::new();
        let name = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", name);
        required_tag_keys(&mut v, "tags", self.tags.as_ref(), 1);
        v.finish()?;
        let keys = unique_keys(self.tags);
        Ok((self.log_group_name.unwrap_or_default(), keys))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociateKmsKeyRequest {
    pub log_group_name: Option<String>,
    pub kms_key_id: Option<String>,
}

impl AssociateKmsKeyRequest {
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut v = Violations::new();
        let name = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", name);
        let key = v.required("kmsKeyId", self.kms_key_id.as_deref());
        v.length("kmsKeyId", key, 0, 256);
        v.finish()?;
        let key = self.kms_key_id.unwrap_or_default();
        kms_key_arn(&key)?;
        Ok((self.log_group_name.unwrap_or_default(), key))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRequest {
    pub log_group_name: Option<String>,
    pub log_stream_name: Option<String>,
}

impl StreamRequest {
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        let stream = v.required("logStreamName", self.log_stream_name.as_deref());
        v.stream_name("logStreamName", stream);
        v.finish()?;
        Ok((self.log_group_name.unwrap_or_default(), self.log_stream_name.unwrap_or_default()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOrder {
    LogStreamName,
    LastEventTime,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsRequest {
    pub log_group_name: Option<String>,
    /// Today's API: the group's name or ARN (see [`crate::identifiers`]).
    pub log_group_identifier: Option<String>,
    pub log_stream_name_prefix: Option<String>,
    pub order_by: Option<String>,
    pub descending: Option<bool>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

pub struct DescribeLogStreams {
    pub group: String,
    pub prefix: Option<String>,
    pub order: StreamOrder,
    pub descending: bool,
    pub next_token: Option<String>,
    pub limit: usize,
}

impl crate::identifiers::NamesGroup for DescribeLogStreamsRequest {
    fn group_members(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.log_group_name, &mut self.log_group_identifier)
    }
}

impl DescribeLogStreamsRequest {
    pub fn validate(self) -> Result<DescribeLogStreams, ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        v.stream_name("logStreamNamePrefix", self.log_stream_name_prefix.as_deref());
        v.one_of("orderBy", self.order_by.as_deref(), &["LogStreamName", "LastEventTime"]);
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.finish()?;
        let order = match self.order_by.as_deref() {
            Some("LastEventTime") => StreamOrder::LastEventTime,
            _ => StreamOrder::LogStreamName,
        };
        if order == StreamOrder::LastEventTime && self.log_stream_name_prefix.is_some() {
            return Err(ApiError::invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix."));
        }
        Ok(DescribeLogStreams {
            group: self.log_group_name.unwrap_or_default(),
            prefix: self.log_stream_name_prefix,
            order,
            descending: self.descending.unwrap_or(false),
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Shared checks

fn is_tag_char(c: char, extra: &str) -> bool {
    c.is_alphabetic() || c.is_numeric() || c.is_whitespace() || extra.contains(c)
}

fn tag_key(v: &mut Violations, k: &str) {
    v.length("tags", Some(k), 1, 128);
    v.pattern("tags", Some(k), |s| !s.is_empty() && s.chars().all(|c| is_tag_char(c, "_.:/=+-@")), TAG_KEY_PATTERN);
}

/// A required `tags` map (TagLogGroup, TagResource): present, 1–50 entries, AWS's key and value rules.
pub(crate) fn required_tags(v: &mut Violations, tags: Option<&HashMap<String, String>>) {
    match tags {
        None => {
            v.required("tags", None);
        }
        Some(tags) => tag_map(v, tags, 1),
    }
}

/// A required list of tag keys at `member` (UntagLogGroup's `tags`, UntagResource's `tagKeys`).
pub(crate) fn required_tag_keys(v: &mut Violations, member: &str, keys: Option<&Vec<String>>, min: usize) {
    match keys {
        None => {
            v.required(member, None);
        }
        Some(keys) => {
            v.count(member, keys.len(), min, MAX_TAGS);
            for k in keys {
                tag_key(v, k);
            }
        }
    }
}

/// The keys sorted, each once: naming a key twice removes it once (DynamoDB refuses overlapping
/// paths in one update).
pub(crate) fn unique_keys(keys: Option<Vec<String>>) -> Vec<String> {
    let mut keys = keys.unwrap_or_default();
    keys.sort();
    keys.dedup();
    keys
}

fn tag_map(v: &mut Violations, tags: &HashMap<String, String>, min: usize) {
    let rendered = || {
        let mut pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        format!("{{{}}}", pairs.join(", "))
    };
    if tags.len() < min {
        v.push("tags", Some(&rendered()), &format!("Member must have length greater than or equal to {min}"));
    }
    if tags.len() > MAX_TAGS {
        v.push("tags", Some(&rendered()), &format!("Member must have length less than or equal to {MAX_TAGS}"));
    }
    let mut keys: Vec<&String> = tags.keys().collect();
    keys.sort();
    for k in keys {
        tag_key(v, k);
        let value = &tags[k];
        v.length("tags", Some(value), 0, 256);
        v.pattern("tags", Some(value), |s| s.chars().all(|c| is_tag_char(c, "_.:/=+-@")), TAG_VALUE_PATTERN);
    }
}

pub(crate) fn reserved_tag_keys<'a>(mut keys: impl Iterator<Item = &'a String>) -> Result<(), ApiError> {
    match keys.find(|k| k.to_ascii_lowercase().starts_with("aws:")) {
        Some(k) => {
            Err(ApiError::invalid_parameter(format!("Tag keys beginning with 'aws:' are reserved for AWS use: '{k}'.")))
        }
        None => Ok(()),
    }
}

/// A KMS key ARN: `arn:{partition}:kms:{region}:{12-digit account}:key/{id}`.
pub fn kms_key_arn(key: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = key.splitn(6, ':').collect();
    let ok = matches!(parts.as_slice(),
        ["arn", partition, "kms", region, account, resource]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("key/").is_some_and(|id| !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidParameterException,
            format!(
                "Specified KMS key '{key}' is not a valid key ARN. Expected arn:aws:kms:<region>:<account-id>:key/<key-id>."
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl Sized, ApiError>) -> Option<(ErrorCode, String)> {
        r.err().map(|e| (e.code, e.message))
    }

    #[test]
    fn kms_keys() {
        let cases = [
            ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", true),
            ("arn:aws-cn:kms:cn-north-1:123456789012:key/abc", true),
            ("arn:aws:kms:us-east-1:123456789012:alias/my-key", false),
            ("arn:aws:kms:us-east-1:12345:key/abc", false),
            ("arn:aws:s3:us-east-1:123456789012:key/abc", false),
            ("1234abcd-12ab-34cd-56ef-1234567890ab", false),
            ("arn:aws:kms:us-east-1:123456789012:key/", false),
            ("", false),
        ];
        for (k, ok) in cases {
            assert_eq!(kms_key_arn(k).is_ok(), ok, "{k}");
        }
    }

    #[test]
    fn describe_log_streams_rules() {
        let cases: Vec<(DescribeLogStreamsRequest, Option<ErrorCode>)> = vec![
            (DescribeLogStreamsRequest { log_group_name: Some("g".into()), ..Default::default() }, None),
            (DescribeLogStreamsRequest::default(), Some(ErrorCode::InvalidParameterException)),
            (
                DescribeLogStreamsRequest {
                    log_group_name: Some("g".into()),
                    order_by: Some("LastEventTime".into()),
                    log_stream_name_prefix: Some("a".into()),
                    ..Default::default()
                },
                Some(ErrorCode::InvalidParameterException),
            ),
            (
                DescribeLogStreamsRequest {
                    log_group_name: Some("g".into()),
                    order_by: Some("Size".into()),
                    ..Default::default()
                },
                Some(ErrorCode::InvalidParameterException),
            ),
            (
                DescribeLogStreamsRequest { log_group_name: Some("g".into()), limit: Some(0), ..Default::default() },
                Some(ErrorCode::InvalidParameterException),
            ),
        ];
        for (req, want) in cases {
            let got = err(req.validate()).map(|(c, _)| c);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn retention_values() {
        for d in RETENTION_DAYS {
            let r = PutRetentionPolicyRequest { log_group_name: Some("g".into()), retention_in_days: Some(*d) };
            assert!(r.validate().is_ok(), "{d}");
        }
        for d in [0, 2, 4, 366, 3654, -1] {
            let r = PutRetentionPolicyRequest { log_group_name: Some("g".into()), retention_in_days: Some(d) };
            let (code, msg) = err(r.validate()).unwrap();
            assert_eq!(code, ErrorCode::InvalidParameterException);
            assert!(msg.contains(&format!("Value '{d}' at 'retentionInDays'")), "{msg}");
        }
        let r = PutRetentionPolicyRequest { log_group_name: Some("g".into()), retention_in_days: None };
        assert!(err(r.validate()).unwrap().1.contains("Value null at 'retentionInDays'"));
    }

    #[test]
    fn tags() {
        let tag = |k: &str, v: &str| TagLogGroupRequest {
            log_group_name: Some("g".into()),
            tags: Some(HashMap::from([(k.to_owned(), v.to_owned())])),
        };
        let cases: Vec<(TagLogGroupRequest, Option<ErrorCode>)> = vec![
            (tag("team", "core"), None),
            (tag("a b_.:/=+-@é9", ""), None),
            (tag("", "x"), Some(ErrorCode::InvalidParameterException)),
            (tag(&"k".repeat(129), "x"), Some(ErrorCode::InvalidParameterException)),
            (tag("k", &"v".repeat(257)), Some(ErrorCode::InvalidParameterException)),
            (tag("k!", "v"), Some(ErrorCode::InvalidParameterException)),
            (tag("k", "v$"), Some(ErrorCode::InvalidParameterException)),
            (tag("aws:reserved", "v"), Some(ErrorCode::InvalidParameterException)),
            (
                TagLogGroupRequest { log_group_name: Some("g".into()), tags: Some(HashMap::new()) },
                Some(ErrorCode::InvalidParameterException),
            ),
            (
                TagLogGroupRequest {
                    log_group_name: Some("g".into()),
                    tags: Some((0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect()),
                },
                Some(ErrorCode::InvalidParameterException),
            ),
            (
                TagLogGroupRequest { log_group_name: Some("g".into()), tags: None },
                Some(ErrorCode::InvalidParameterException),
            ),
        ];
        for (i, (req, want)) in cases.into_iter().enumerate() {
            assert_eq!(err(req.validate()).map(|(c, _)| c), want, "case {i}");
        }
    }

    #[test]
    fn views_use_aws_arns() {
        let g = LogGroup {
            id: "01J".into(),
            name: "app".into(),
            creation_time: 5,
            retention_in_days: Some(7),
            kms_key_id: None,
            tags: BTreeMap::new(),
            metric_filter_count: 0,
            subscription_filter_count: 0,
            stored_bytes: 0,
            dictionary: None,
            log_group_class: None,
            deletion_protection_enabled: false,
        };
        let v = serde_json::to_value(g.view("us-east-1", "123456789012")).unwrap();
        assert_eq!(v["arn"], "arn:aws:logs:us-east-1:123456789012:log-group:app:*");
        assert_eq!(v["logGroupArn"], "arn:aws:logs:us-east-1:123456789012:log-group:app");
        assert_eq!(v["retentionInDays"], 7);
        assert_eq!(v["logGroupClass"], "STANDARD");
        assert_eq!(v["deletionProtectionEnabled"], false);
        assert!(v.get("kmsKeyId").is_none());
        let ia = LogGroup { log_group_class: Some(INFREQUENT_ACCESS.into()), ..g.clone() };
        assert_eq!(ia.summary("us-east-1", "1")["logGroupClass"], "INFREQUENT_ACCESS");
        let p = g.pattern_view("us-east-1", "123456789012");
        assert_eq!(p.as_object().unwrap().len(), 3, "only arn, creationTime, logGroupName: {p}");
    }

    #[test]
    fn list_log_groups_patterns() {
        type Names<'a> = Option<&'a [(&'a str, bool)]>;
        let cases: &[(&str, Names)] = &[
            ("app", Some(&[("app", true), ("myapp/x", true), ("ap", false), ("APP", false)])),
            (
                "^/aws/lambda|discovery",
                Some(&[("/aws/lambda/f", true), ("x/discovery", true), ("x/aws/lambda", false)]),
            ),
            ("^/aws.lambda", Some(&[("/aws/lambda", true), ("/awsXlambda", true), ("/aws/lamb", false)])),
            ("ab", None),
            (&"a".repeat(25), None),
            ("a*b", None),
            ("abc|def|ghi|jkl|mno|pqr", None),
            ("abc||def", None),
        ];
        for (pattern, names) in cases {
            let parsed = NamePattern::parse(pattern);
            match names {
                None => assert!(parsed.is_none(), "{pattern} is refused"),
                Some(names) => {
                    let p = parsed.unwrap_or_else(|| panic!("{pattern} parses"));
                    for (name, want) in *names {
                        assert_eq!(p.matches(name), *want, "{pattern} ~ {name}");
                    }
                }
            }
        }
        let req = |prefix: Option<&str>, pattern: Option<&str>| DescribeLogGroupsRequest {
            log_group_name_prefix: prefix.map(Into::into),
            log_group_name_pattern: pattern.map(Into::into),
            ..Default::default()
        };
        let e = req(Some("a"), Some("b")).validate().err().unwrap();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::InvalidParameterException, PREFIX_AND_PATTERN));
        assert!(req(None, Some("a b")).validate().is_err());
        let list = ListLogGroupsRequest { log_group_name_pattern: Some("ab".into()), ..Default::default() };
        assert_eq!(list.validate().err().map(|e| e.code), Some(ErrorCode::InvalidParameterException));
        let list = ListLogGroupsRequest { limit: Some(1001), ..Default::default() };
        assert!(list.validate().is_err());
    }
}
