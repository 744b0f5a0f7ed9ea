//! Resource policies (PutResourcePolicy, DescribeResourcePolicies, DeleteResourcePolicy):
//! account-level policies that let AWS services write to the account's log groups. Logbook stores
//! them and shows them as AWS does; like AWS for non-service principals, it enforces nothing.

use logbook_protocol::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::Violations;

/// Per account and region.
pub const MAX_RESOURCE_POLICIES: i64 = 10;
/// Today's model (2026); the 2018 model said 5,120.
pub const MAX_POLICY_DOCUMENT: usize = 51_200;
/// Policy names have no model constraint; this bounds what a key must hold.
pub const MAX_POLICY_NAME: usize = 512;

/// Where a page of DescribeResourcePolicies starts: after this policy name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCursor {
    pub name: String,
}

impl crate::token::Cursor for PolicyCursor {
    fn in_range(&self) -> bool {
        !self.name.is_empty() && self.name.chars().count() <= MAX_POLICY_NAME
    }
}

pub fn policy_missing(name: &str) -> ApiError {
    ApiError::not_found(format!("Policy with name [{name}] does not exist."))
}

pub fn limit_exceeded() -> ApiError {
    ApiError::new(ErrorCode::LimitExceededException, "Resource limit exceeded.")
}

/// A policy as stored: the document verbatim, as PutResourcePolicy echoes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePolicy {
    pub policy_name: String,
    pub policy_document: String,
    pub last_updated_time: i64,
}

impl ResourcePolicy {
    /// PutResourcePolicy's view: the document as sent.
    pub fn put_view(&self) -> Value {
        serde_json::json!({
            "policyName": self.policy_name,
            "policyDocument": self.policy_document,
            "lastUpdatedTime": self.last_updated_time,
            "policyScope": "ACCOUNT",
        })
    }

    /// DescribeResourcePolicies' view: the document as AWS stores it (see [`canonical`]).
    pub fn describe_view(&self) -> Value {
        let document = serde_json::from_str::<Value>(&self.policy_document)
            .map(|d| canonical(&d))
            .unwrap_or_else(|_| self.policy_document.clone());
        serde_json::json!({
            "policyName": self.policy_name,
            "policyDocument": document,
            "lastUpdatedTime": self.last_updated_time,
            "policyScope": "ACCOUNT",
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutResourcePolicyRequest {
    pub policy_name: Option<String>,
    pub policy_document: Option<String>,
}

impl PutResourcePolicyRequest {
    /// (name, document), the document a JSON object with a `Statement`.
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut v = Violations::new();
        v.length("policyName", self.policy_name.as_deref(), 1, MAX_POLICY_NAME);
        v.length("policyDocument", self.policy_document.as_deref(), 1, MAX_POLICY_DOCUMENT);
        v.finish()?;
        let Some(name) = self.policy_name else {
            return Err(ApiError::invalid_parameter("policyName is required."));
        };
        let Some(document) = self.policy_document else {
            return Err(ApiError::invalid_parameter("policyDocument is required."));
        };
        let parsed: Value = serde_json::from_str(&document)
            .map_err(|e| ApiError::invalid_parameter(format!("Policy document is not valid JSON: {e}.")))?;
        let statements_ok = match parsed.get("Statement") {
            Some(Value::Array(list)) => !list.is_empty() && list.iter().all(Value::is_object),
            Some(Value::Object(_)) => true,
            _ => false,
        };
        if !parsed.is_object() || !statements_ok {
            return Err(ApiError::invalid_parameter(
                "Policy document is not a valid policy: it must be a JSON object with a Statement.",
            ));
        }
        Ok((name, document))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeResourcePoliciesRequest {
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

impl DescribeResourcePoliciesRequest {
    /// (next token, page size).
    pub fn validate(self) -> Result<(Option<String>, usize), ApiError> {
        let mut v = Violations::new();
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.finish()?;
        Ok((self.next_token, self.limit.unwrap_or(50) as usize))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteResourcePolicyRequest {
    pub policy_name: Option<String>,
}

impl DeleteResourcePolicyRequest {
    pub fn validate(self) -> Result<String, ApiError> {
        let mut v = Violations::new();
        v.length("policyName", self.policy_name.as_deref(), 1, MAX_POLICY_NAME);
        v.finish()?;
        self.policy_name.ok_or_else(|| ApiError::invalid_parameter("policyName is required."))
    }
}

/// A policy document the way DescribeResourcePolicies returns it (recorded from AWS): compact,
/// `"Version":"2008-10-17"` first when the document had none, statement members in the order
/// `Sid, Effect, Principal, Action, Resource` (the rest after them), and one-element lists in
/// statements written as the element (`"Service":["a"]` → `"Service":"a"`). Other objects keep
/// their members in name order.
pub fn canonical(doc: &Value) -> String {
    let mut out = String::new();
    let Value::Object(top) = doc else {
        return doc.to_string();
    };
    out.push('{');
    let version = top.get("Version").cloned().unwrap_or_else(|| Value::String("2008-10-17".into()));
    let mut first = true;
    let mut member = |out: &mut String, key: &str, write: &mut dyn FnMut(&mut String)| {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&Value::String(key.to_owned()).to_string());
        out.push(':');
        write(out);
    };
    member(&mut out, "Version", &mut |o| o.push_str(&version.to_string()));
    for (k, v) in top.iter().filter(|(k, _)| k.as_str() != "Version") {
        if k == "Statement" {
            member(&mut out, k, &mut |o| match v {
                Value::Array(list) => {
                    o.push('[');
                    for (i, s) in list.iter().enumerate() {
                        if i > 0 {
                            o.push(',');
                        }
                        statement(o, s);
                    }
                    o.push(']');
                }
                other => statement(o, other),
            });
        } else {
            member(&mut out, k, &mut |o| o.push_str(&v.to_string()));
        }
    }
    out.push('}');
    out
}

const STATEMENT_ORDER: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

fn statement(out: &mut String, s: &Value) {
    let Value::Object(map) = s else {
        out.push_str(&s.to_string());
        return;
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| (STATEMENT_ORDER.iter().position(|o| o == k).unwrap_or(STATEMENT_ORDER.len()), k.as_str()));
    out.push('{');
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String((*k).clone()).to_string());
        out.push(':');
        out.push_str(&collapse(&map[*k]).to_string());
    }
    out.push('}');
}

/// One-element lists as their element, at any depth of a statement member.
fn collapse(v: &Value) -> Value {
    match v {
        Value::Array(list) if list.len() == 1 => collapse(&list[0]),
        Value::Array(list) => Value::Array(list.iter().map(collapse).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), collapse(v))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_come_back_as_aws_stores_them() {
        // (sent, what DescribeResourcePolicies shows)
        let cases = [
            // AWS's recorded answer: Version added first, the one-element list collapsed, members
            // reordered.
            (
                r#"{"Statement":[{"Action":"logs:PutLogEvents","Effect":"Allow","Principal":{"Service":["route53.amazonaws.com"]},"Resource":"*"}]}"#,
                r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"route53.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}"#,
            ),
            (
                r#"{ "Version": "2012-10-17", "Statement": [ { "Sid": "s", "Resource": ["a", "b"], "Effect": "Allow", "Action": ["logs:CreateLogStream"], "Principal": {"Service": "es.amazonaws.com"} } ] }"#,
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"s","Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"logs:CreateLogStream","Resource":["a","b"]}]}"#,
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Condition":{"StringEquals":{"aws:SourceAccount":["1"]}},"Action":"*"}}"#,
                r#"{"Version":"2008-10-17","Statement":{"Effect":"Deny","Action":"*","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}}"#,
            ),
        ];
        for (sent, want) in cases {
            assert_eq!(canonical(&serde_json::from_str(sent).unwrap()), want, "{sent}");
        }
    }

    #[test]
    fn put_requests_are_checked() {
        let ok = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let put = |name: Option<&str>, doc: Option<&str>| {
            PutResourcePolicyRequest { policy_name: name.map(str::to_owned), policy_document: doc.map(str::to_owned) }
                .validate()
        };
        assert!(put(Some("p"), Some(ok)).is_ok());
        let long = "x".repeat(MAX_POLICY_DOCUMENT + 1);
        for (name, doc) in [
            (None, Some(ok)),
            (Some("p"), None),
            (Some(""), Some(ok)),
            (Some("p"), Some("")),
            (Some("p"), Some("{not json")),
            (Some("p"), Some("[]")),
            (Some("p"), Some(r#"{"Version":"2012-10-17"}"#)),
            (Some("p"), Some(r#"{"Statement":[]}"#)),
            (Some("p"), Some(r#"{"Statement":["x"]}"#)),
            (Some("p"), Some(long.as_str())),
        ] {
            let e = put(name, doc).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameterException, "{name:?} {doc:?}");
        }
    }
}
