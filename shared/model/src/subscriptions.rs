//! Subscription filters and destinations: requests, their validation, the targets an ARN names,
//! the destination access-policy subset Logbook evaluates, and the messages delivery sends.

use std::io::Write as _;

use logbook_protocol::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::Violations;

/// Subscription filters per log group (the 1.9.42 text says one; today's AWS allows two).
pub const MAX_SUBSCRIPTION_FILTERS: i64 = 2;
pub const SUBSCRIPTION_MISSING: &str = "The specified subscription filter does not exist.";
pub const DESTINATION_MISSING: &str = "The specified destination does not exist.";
pub const LIMIT_EXCEEDED: &str = "Resource limit exceeded.";
/// An access policy's longest document, in bytes ("up to 5120 bytes").
pub const MAX_ACCESS_POLICY: usize = 5_120;

/// Where a subscription filter or destination sends events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetArn {
    Lambda {
        region: String,
        account: String,
        name: String,
        qualifier: Option<String>,
    },
    Kinesis {
        region: String,
        account: String,
        stream: String,
    },
    Firehose {
        region: String,
        account: String,
        name: String,
    },
    /// A CloudWatch Logs destination (`arn:aws:logs:…:destination:NAME`).
    Destination {
        region: String,
        account: String,
        name: String,
    },
    /// Any other ARN: the vendor (service) it names.
    Other {
        vendor: String,
    },
}

impl TargetArn {
    pub fn parse(arn: &str) -> TargetArn {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let (vendor, region, account, resource) = match parts.as_slice() {
            ["arn", _, vendor, region, account, resource] => (*vendor, *region, *account, *resource),
            ["arn", _, vendor, ..] => return TargetArn::Other { vendor: (*vendor).to_owned() },
            _ => return TargetArn::Other { vendor: arn.split(':').nth(2).unwrap_or_default().to_owned() },
        };
        let (region, account) = (region.to_owned(), account.to_owned());
        match vendor {
            "lambda" => match resource.strip_prefix("function:") {
                Some(rest) if !rest.is_empty() => {
                    let (name, qualifier) = match rest.split_once(':') {
                        Some((n, q)) => (n.to_owned(), Some(q.to_owned())),
                        None => (rest.to_owned(), None),
                    };
                    TargetArn::Lambda { region, account, name, qualifier }
                }
                _ => TargetArn::Other { vendor: vendor.to_owned() },
            },
            "kinesis" => match resource.strip_prefix("stream/") {
                Some(stream) if !stream.is_empty() => TargetArn::Kinesis { region, account, stream: stream.to_owned() },
                _ => TargetArn::Other { vendor: vendor.to_owned() },
            },
            "firehose" => match resource.strip_prefix("deliverystream/") {
                Some(name) if !name.is_empty() => TargetArn::Firehose { region, account, name: name.to_owned() },
                _ => TargetArn::Other { vendor: vendor.to_owned() },
            },
            "logs" => match resource.strip_prefix("destination:") {
                Some(name) if !name.is_empty() => TargetArn::Destination { region, account, name: name.to_owned() },
                _ => TargetArn::Other { vendor: vendor.to_owned() },
            },
            other => TargetArn::Other { vendor: other.to_owned() },
        }
    }

    /// The ARN's service, as AWS's messages name it ("vendor").
    pub fn vendor(&self) -> &str {
        match self {
            TargetArn::Lambda { .. } => "lambda",
            TargetArn::Kinesis { .. } => "kinesis",
            TargetArn::Firehose { .. } => "firehose",
            TargetArn::Destination { .. } => "logs",
            TargetArn::Other { vendor } => vendor,
        }
    }
}

/// A subscription filter as stored and as DescribeSubscriptionFilters shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter {
    pub filter_name: String,
    pub log_group_name: String,
    pub filter_pattern: String,
    pub destination_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub distribution: String,
    pub creation_time: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutSubscriptionFilterRequest {
    pub log_group_name: Option<String>,
    pub filter_name: Option<String>,
    pub filter_pattern: Option<String>,
    pub destination_arn: Option<String>,
    pub role_arn: Option<String>,
    pub distribution: Option<String>,
}

impl PutSubscriptionFilterRequest {
    /// The filter (creation time 0, for the caller to set), after the checks that need nothing
    /// stored: shape, then the destination rules AWS applies before looking at the log group.
    pub fn validate(self, caller_account: &str) -> Result<(SubscriptionFilter, TargetArn), ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        let name = v.required("filterName", self.filter_name.as_deref());
        v.resource_name("filterName", name);
        let pattern = v.required("filterPattern", self.filter_pattern.as_deref());
        v.length("filterPattern", pattern, 0, logbook_filter::MAX_PATTERN_CHARS);
        let dest = v.required("destinationArn", self.destination_arn.as_deref());
        v.length("destinationArn", dest, 1, 2048);
        v.length("roleArn", self.role_arn.as_deref(), 1, 2048);
        v.one_of("distribution", self.distribution.as_deref(), &["Random", "ByLogStream"]);
        v.finish()?;
        let destination_arn = self.destination_arn.unwrap_or_default();
        let target = TargetArn::parse(&destination_arn);
        let role = self.role_arn.as_deref();
        match &target {
            TargetArn::Lambda { account, .. } if account != caller_account => {
                return Err(ApiError::new(
                    ErrorCode::AccessDeniedException,
                    "Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create \
                     cross account lambda triggers.",
                ));
            }
            TargetArn::Lambda { .. } | TargetArn::Destination { .. } if role.is_some() => {
                return Err(ApiError::invalid_parameter(format!(
                    "destinationArn for vendor {} cannot be used with roleArn",
                    target.vendor()
                )));
            }
            TargetArn::Kinesis { .. } | TargetArn::Firehose { .. } if role.is_none() => {
                return Err(ApiError::invalid_parameter(format!(
                    "destinationArn for vendor {} cannot be used without roleArn",
                    target.vendor()
                )));
            }
            TargetArn::Other { vendor } if role.is_none() => {
                return Err(ApiError::invalid_parameter(format!(
                    "destinationArn for vendor {vendor} cannot be used without roleArn"
                )));
            }
            TargetArn::Other { vendor } => {
                return Err(ApiError::invalid_parameter(format!(
                    "PutSubscriptionFilter operation cannot work with destinationArn for vendor {vendor}"
                )));
            }
            _ => {}
        }
        crate::metric::parse_pattern(self.filter_pattern.as_deref().unwrap_or_default())?;
        let filter = SubscriptionFilter {
            filter_name: self.filter_name.unwrap_or_default(),
            log_group_name: self.log_group_name.unwrap_or_default(),
            filter_pattern: self.filter_pattern.unwrap_or_default(),
            destination_arn,
            role_arn: self.role_arn,
            distribution: self.distribution.unwrap_or_else(|| "ByLogStream".to_owned()),
            creation_time: 0,
        };
        Ok((filter, target))
    }
}

/// DeleteSubscriptionFilter takes what DeleteMetricFilter takes (a group and a filter name).
pub use crate::metric::DeleteMetricFilterRequest as DeleteSubscriptionFilterRequest;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSubscriptionFiltersRequest {
    pub log_group_name: Option<String>,
    pub filter_name_prefix: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

pub struct DescribeSubscriptionFilters {
    pub group: String,
    pub prefix: Option<String>,
    pub next_token: Option<String>,
    pub limit: usize,
}

impl DescribeSubscriptionFiltersRequest {
    pub fn validate(self) -> Result<DescribeSubscriptionFilters, ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        v.resource_name("filterNamePrefix", self.filter_name_prefix.as_deref());
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.finish()?;
        Ok(DescribeSubscriptionFilters {
            group: self.log_group_name.unwrap_or_default(),
            prefix: self.filter_name_prefix,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

/// A destination as stored and as DescribeDestinations shows it (no `accessPolicy` until one
/// is put).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    pub destination_name: String,
    pub target_arn: String,
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_policy: Option<String>,
    pub arn: String,
    pub creation_time: i64,
}

pub fn destination_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:destination:{name}")
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutDestinationRequest {
    pub destination_name: Option<String>,
    pub target_arn: Option<String>,
    pub role_arn: Option<String>,
}

impl PutDestinationRequest {
    /// (name, target ARN, role ARN) and the target: Kinesis or Firehose.
    pub fn validate(self) -> Result<(String, String, String, TargetArn), ApiError> {
        let mut v = Violations::new();
        let name = v.required("destinationName", self.destination_name.as_deref());
        v.resource_name("destinationName", name);
        let target = v.required("targetArn", self.target_arn.as_deref());
        v.length("targetArn", target, 1, 2048);
        let role = v.required("roleArn", self.role_arn.as_deref());
        v.length("roleArn", role, 1, 2048);
        v.finish()?;
        let target_arn = self.target_arn.unwrap_or_default();
        let target = TargetArn::parse(&target_arn);
        if !matches!(target, TargetArn::Kinesis { .. } | TargetArn::Firehose { .. }) {
            return Err(ApiError::invalid_parameter(
                "Could not deliver test message to specified destination. Check if the destination is valid.",
            ));
        }
        Ok((self.destination_name.unwrap_or_default(), target_arn, self.role_arn.unwrap_or_default(), target))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutDestinationPolicyRequest {
    pub destination_name: Option<String>,
    pub access_policy: Option<String>,
}

impl PutDestinationPolicyRequest {
    /// (name, the policy as sent): stored verbatim, as AWS returns it.
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut v = Violations::new();
        let name = v.required("destinationName", self.destination_name.as_deref());
        v.resource_name("destinationName", name);
        let policy = v.required("accessPolicy", self.access_policy.as_deref());
        v.length("accessPolicy", policy, 1, MAX_ACCESS_POLICY);
        v.finish()?;
        let policy = self.access_policy.unwrap_or_default();
        if serde_json::from_str::<Value>(&policy).map_or(true, |p| !p.is_object()) {
            return Err(ApiError::invalid_parameter("The access policy is not a valid JSON policy document."));
        }
        Ok((self.destination_name.unwrap_or_default(), policy))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationNameRequest {
    pub destination_name: Option<String>,
}

impl DestinationNameRequest {
    pub fn validate(self) -> Result<String, ApiError> {
        let mut v = Violations::new();
        let name = v.required("destinationName", self.destination_name.as_deref());
        v.resource_name("destinationName", name);
        v.finish()?;
        Ok(self.destination_name.unwrap_or_default())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DescribeDestinationsRequest {
    /// Capital D on the wire, unlike every other `…NamePrefix`.
    #[serde(rename = "DestinationNamePrefix")]
    pub destination_name_prefix: Option<String>,
    #[serde(rename = "nextToken")]
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

pub struct DescribeDestinations {
    pub prefix: Option<String>,
    pub next_token: Option<String>,
    pub limit: usize,
}

impl DescribeDestinationsRequest {
    pub fn validate(self) -> Result<DescribeDestinations, ApiError> {
        let mut v = Violations::new();
        v.resource_name("DestinationNamePrefix", self.destination_name_prefix.as_deref());
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.finish()?;
        Ok(DescribeDestinations {
            prefix: self.destination_name_prefix,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

/// Whether a destination's access policy lets `account` call PutSubscriptionFilter on
/// `destination_arn`. The subset AWS's destination policies use: `Allow` and `Deny` statements;
/// `Principal` as `"*"`, `{"AWS": …}` with account ids, `arn:aws:iam::ACCOUNT:root` (or any
/// ARN of that account) or `"*"`, one or a list; `Action` `logs:PutSubscriptionFilter`,
/// `logs:*` or `*`, one or a list (case-insensitive); `Resource` with `*` and `?` wildcards, one
/// or a list (absent: any). A statement with a `Condition` never allows (no condition key can
/// be known here, e.g. `aws:PrincipalOrgID`: there are no organizations) but a `Deny` with one
/// still denies. `NotPrincipal`, `NotAction` and `NotResource` make a statement apply to nothing.
/// A matching `Deny` wins over any `Allow`, as in IAM.
pub fn policy_allows(policy: &str, account: &str, destination_arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else { return false };
    let statements: Vec<&Value> = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => return false,
    };
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    };
    let principal_matches = |p: &Value| -> bool {
        let names = match p {
            Value::String(s) => vec![s.clone()],
            Value::Object(o) => o.get("AWS").map(list).unwrap_or_default(),
            _ => Vec::new(),
        };
        names.iter().any(|n| {
            n == "*"
                || n == account
                || n.strip_prefix("arn:aws:iam::").and_then(|r| r.split(':').next()) == Some(account)
        })
    };
    let action_matches = |a: &Value| {
        list(a).iter().any(|x| {
            let x = x.to_ascii_lowercase();
            x == "*" || x == "logs:*" || x == "logs:putsubscriptionfilter"
        })
    };
    let resource_matches = |r: &Value| r.is_null() || list(r).iter().any(|pattern| wildcard(pattern, destination_arn));
    let mut allowed = false;
    for s in statements {
        if s.get("NotPrincipal").is_some() || s.get("NotAction").is_some() || s.get("NotResource").is_some() {
            continue;
        }
        let applies =
            principal_matches(&s["Principal"]) && action_matches(&s["Action"]) && resource_matches(&s["Resource"]);
        match s["Effect"].as_str() {
            Some("Deny") if applies => return false,
            Some("Allow") if applies && s.get("Condition").is_none() => allowed = true,
            _ => {}
        }
    }
    allowed
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One event in a `DATA_MESSAGE`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveredEvent {
    pub id: String,
    pub timestamp: i64,
    pub message: String,
    #[serde(rename = "extractedFields", skip_serializing_if = "Option::is_none")]
    pub extracted_fields: Option<serde_json::Map<String, Value>>,
}

/// The envelope CloudWatch Logs delivers, fields in AWS's order (a consumer that compares bytes,
/// or a human reading a Firehose object, sees what AWS would send).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a, E: Serialize> {
    message_type: &'a str,
    owner: &'a str,
    log_group: &'a str,
    log_stream: &'a str,
    subscription_filters: &'a [&'a str],
    log_events: &'a [E],
}

/// CloudWatch's `DATA_MESSAGE` (compact JSON, AWS's key order).
pub fn data_message(owner: &str, group: &str, stream: &str, filters: &[&str], events: &[DeliveredEvent]) -> Vec<u8> {
    let v = Envelope {
        message_type: "DATA_MESSAGE",
        owner,
        log_group: group,
        log_stream: stream,
        subscription_filters: filters,
        log_events: events,
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The health check CloudWatch writes to a Kinesis or Firehose target when a filter or
/// destination is put ("Kinesis stream" / "Firehose").
pub fn control_message(target: &TargetArn, now: i64) -> Vec<u8> {
    let what = match target {
        TargetArn::Firehose { .. } => "Firehose",
        TargetArn::Lambda { .. } => "Lambda",
        _ => "Kinesis stream",
    };
    let message = format!("CWL CONTROL MESSAGE: Checking health of destination {what}.");
    let v = Envelope {
        message_type: "CONTROL_MESSAGE",
        owner: "CloudwatchLogs",
        log_group: "",
        log_stream: "",
        subscription_filters: &[],
        log_events: &[DeliveredEvent { id: String::new(), timestamp: now, message, extracted_fields: None }],
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

/// gzip (level 6, as CloudWatch sends it) of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// The `extractedFields` of a space-delimited pattern's match: its named fields, bare names, as
/// strings; `None` for any other kind of pattern or when no field is named.
pub fn extracted_fields(
    pattern: &logbook_filter::FilterPattern,
    message: &str,
) -> Option<serde_json::Map<String, Value>> {
    if !pattern.is_delimited() {
        return None;
    }
    let values = pattern.extract(message)?;
    let named: serde_json::Map<String, Value> = values
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix('$')?;
            (!name.chars().all(|c| c.is_ascii_digit())).then(|| (name.to_owned(), Value::String(v)))
        })
        .collect();
    (!named.is_empty()).then_some(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn target_arns() {
        let cases = [
            ("arn:aws:lambda:us-east-1:111111111111:function:sub", "lambda"),
            ("arn:aws:lambda:us-east-1:111111111111:function:sub:live", "lambda"),
            ("arn:aws:kinesis:us-east-1:111111111111:stream/s", "kinesis"),
            ("arn:aws:firehose:us-east-1:111111111111:deliverystream/d", "firehose"),
            ("arn:aws:logs:us-east-1:111111111111:destination:dest", "logs"),
            ("arn:aws:logs:us-east-1:111111111111:log-group:g", "logs"),
            ("arn:aws:cloudformation:us-east-1:111111111111:stack/x", "cloudformation"),
            ("not an arn", ""),
        ];
        for (arn, vendor) in cases {
            assert_eq!(TargetArn::parse(arn).vendor(), vendor, "{arn}");
        }
        assert_eq!(
            TargetArn::parse("arn:aws:lambda:us-east-1:111111111111:function:sub:live"),
            TargetArn::Lambda {
                region: "us-east-1".into(),
                account: "111111111111".into(),
                name: "sub".into(),
                qualifier: Some("live".into())
            }
        );
        assert!(matches!(TargetArn::parse("arn:aws:logs:us-east-1:111111111111:log-group:g"), TargetArn::Other { .. }));
    }

    fn put(dest: &str, role: Option<&str>) -> Result<(SubscriptionFilter, TargetArn), ApiError> {
        PutSubscriptionFilterRequest {
            log_group_name: Some("g".into()),
            filter_name: Some("f".into()),
            filter_pattern: Some("".into()),
            destination_arn: Some(dest.into()),
            role_arn: role.map(str::to_owned),
            distribution: None,
        }
        .validate("111111111111")
    }

    /// A destination, a role, and the refusal expected (none: accepted).
    type Case<'a> = (&'a str, Option<&'a str>, Option<(ErrorCode, &'a str)>);

    #[test]
    fn destination_rules_in_aws_order() {
        let role = Some("arn:aws:iam::111111111111:role/r");
        let cases: Vec<Case> = vec![
            ("arn:aws:lambda:us-east-1:111111111111:function:f", None, None),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:f",
                None,
                Some((
                    ErrorCode::AccessDeniedException,
                    "Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create cross account lambda triggers.",
                )),
            ),
            (
                "arn:aws:lambda:us-east-1:111111111111:function:f",
                role,
                Some((
                    ErrorCode::InvalidParameterException,
                    "destinationArn for vendor lambda cannot be used with roleArn",
                )),
            ),
            (
                "arn:aws:logs:us-east-1:222222222222:destination:d",
                role,
                Some((
                    ErrorCode::InvalidParameterException,
                    "destinationArn for vendor logs cannot be used with roleArn",
                )),
            ),
            ("arn:aws:logs:us-east-1:222222222222:destination:d", None, None),
            (
                "arn:aws:kinesis:us-east-1:111111111111:stream/s",
                None,
                Some((
                    ErrorCode::InvalidParameterException,
                    "destinationArn for vendor kinesis cannot be used without roleArn",
                )),
            ),
            ("arn:aws:kinesis:us-east-1:111111111111:stream/s", role, None),
            (
                "arn:aws:firehose:us-east-1:111111111111:deliverystream/d",
                None,
                Some((
                    ErrorCode::InvalidParameterException,
                    "destinationArn for vendor firehose cannot be used without roleArn",
                )),
            ),
            (
                "arn:aws:cloudformation:us-east-1:111111111111:stack/x",
                None,
                Some((
                    ErrorCode::InvalidParameterException,
                    "destinationArn for vendor cloudformation cannot be used without roleArn",
                )),
            ),
            (
                "arn:aws:sqs:us-east-1:111111111111:q",
                role,
                Some((
                    ErrorCode::InvalidParameterException,
                    "PutSubscriptionFilter operation cannot work with destinationArn for vendor sqs",
                )),
            ),
        ];
        for (dest, role, want) in cases {
            let got = put(dest, role).err().map(|e| (e.code, e.message));
            assert_eq!(got.as_ref().map(|(c, m)| (*c, m.as_str())), want, "{dest} {role:?}");
        }
        let (f, _) = put("arn:aws:lambda:us-east-1:111111111111:function:f", None).unwrap();
        assert_eq!(f.distribution, "ByLogStream", "the default, even for Lambda");
    }

    #[test]
    fn access_policies() {
        let arn = "arn:aws:logs:us-east-1:111111111111:destination:dest";
        let doc = |statement: Value| json!({ "Version": "2012-10-17", "Statement": statement }).to_string();
        let allow = |principal: Value, action: Value, resource: Value| {
            doc(json!([{ "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource }]))
        };
        let cases: Vec<(String, &str, bool)> = vec![
            (
                allow(json!({"AWS": "222222222222"}), json!("logs:PutSubscriptionFilter"), json!(arn)),
                "222222222222",
                true,
            ),
            (
                allow(json!({"AWS": "222222222222"}), json!("logs:PutSubscriptionFilter"), json!(arn)),
                "333333333333",
                false,
            ),
            (
                allow(json!({"AWS": ["333333333333", "222222222222"]}), json!(["logs:*"]), json!(arn)),
                "222222222222",
                true,
            ),
            (allow(json!({"AWS": "arn:aws:iam::222222222222:root"}), json!("*"), json!(arn)), "222222222222", true),
            (
                allow(
                    json!("*"),
                    json!("logs:PutSubscriptionFilter"),
                    json!("arn:aws:logs:*:111111111111:destination:*"),
                ),
                "999999999999",
                true,
            ),
            (
                allow(
                    json!({"AWS": "*"}),
                    json!("logs:putsubscriptionfilter"),
                    json!("arn:aws:logs:us-east-1:111111111111:destination:d?st"),
                ),
                "1",
                true,
            ),
            (
                allow(
                    json!({"AWS": "*"}),
                    json!("logs:PutSubscriptionFilter"),
                    json!("arn:aws:logs:us-east-1:111111111111:destination:other"),
                ),
                "1",
                false,
            ),
            (allow(json!({"AWS": "*"}), json!("logs:DescribeDestinations"), json!(arn)), "1", false),
            (allow(json!({"AWS": "*"}), json!("logs:PutSubscriptionFilter"), Value::Null), "1", true),
            (
                doc(json!({ "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                "Condition": { "StringEquals": { "aws:PrincipalOrgID": ["o-1"] } } })),
                "1",
                false,
            ),
            (
                doc(json!([{ "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*" },
                        { "Effect": "Deny", "Principal": {"AWS": "222222222222"}, "Action": "*", "Resource": "*" }])),
                "222222222222",
                false,
            ),
            ("not json".into(), "1", false),
            (doc(json!("nope")), "1", false),
        ];
        for (i, (policy, account, want)) in cases.into_iter().enumerate() {
            assert_eq!(policy_allows(&policy, account, arn), want, "case {i}: {policy}");
        }
    }

    #[test]
    fn messages_are_cloudwatchs() {
        let events = [DeliveredEvent { id: "1".into(), timestamp: 5, message: "m".into(), extracted_fields: None }];
        let text = String::from_utf8(data_message("111", "g", "s", &["f"], &events)).unwrap();
        assert_eq!(
            text,
            r#"{"messageType":"DATA_MESSAGE","owner":"111","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":5,"message":"m"}]}"#
        );
        let control: Value =
            serde_json::from_slice(&control_message(&TargetArn::parse("arn:aws:firehose:r:1:deliverystream/d"), 7))
                .unwrap();
        assert_eq!(control["logEvents"][0]["message"], "CWL CONTROL MESSAGE: Checking health of destination Firehose.");
        assert_eq!(control["owner"], "CloudwatchLogs");
        let zipped = gzip(b"hello");
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut back).unwrap();
        assert_eq!(back, "hello");
        let p = logbook_filter::FilterPattern::parse("[ip, user, status=5*, size]").unwrap();
        let fields = extracted_fields(&p, "1.2.3.4 bob 503 99").unwrap();
        assert_eq!(Value::Object(fields), json!({ "ip": "1.2.3.4", "user": "bob", "status": "503", "size": "99" }));
        assert_eq!(extracted_fields(&logbook_filter::FilterPattern::parse("ERROR").unwrap(), "ERROR"), None);
    }
}
