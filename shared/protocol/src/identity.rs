//! Who is calling: account, region, access key and principal.
//!
//! The access key id and region come from the SigV4 credential scope. Signatures are not verified
//! yet: [`SigV4`] keeps everything a verifier needs (signed headers, signature), so verification can
//! be added in [`IdentityConfig::resolve`] without touching callers.

use std::collections::HashMap;

use http::HeaderMap;

use crate::error::{ApiError, ErrorCode};

/// The resolved caller. Every table key is scoped by `account_id` and `region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account_id: String,
    pub region: String,
    pub access_key_id: Option<String>,
    /// IAM user name, or `None` for the account root (and anonymous callers).
    pub user_name: Option<String>,
}

impl Identity {
    /// The principal's ARN, as CloudTrail's `userIdentity.arn` shows it.
    pub fn principal_arn(&self) -> String {
        match &self.user_name {
            Some(u) => format!("arn:aws:iam::{}:user/{u}", self.account_id),
            None => format!("arn:aws:iam::{}:root", self.account_id),
        }
    }
}

/// The parts of an `AWS4-HMAC-SHA256` Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4 {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl SigV4 {
    pub fn parse(header: &str) -> Result<SigV4, ApiError> {
        let incomplete = |what: &str| {
            ApiError::new(
                ErrorCode::IncompleteSignatureException,
                format!("Authorization header requires '{what}' parameter. Authorization={header}"),
            )
        };
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
            ApiError::new(
                ErrorCode::IncompleteSignatureException,
                format!("Unsupported Authorization header algorithm. Authorization={header}"),
            )
        })?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let credential = credential.ok_or_else(|| incomplete("Credential"))?;
        let signed = signed.ok_or_else(|| incomplete("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| incomplete("Signature"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        match scope.as_slice() {
            [key, date, region, service, "aws4_request"]
                if !key.is_empty() && !region.is_empty() && !service.is_empty() =>
            {
                Ok(SigV4 {
                    access_key_id: (*key).to_owned(),
                    date: (*date).to_owned(),
                    region: (*region).to_owned(),
                    service: (*service).to_owned(),
                    signed_headers: signed.split(';').map(str::to_owned).collect(),
                    signature: signature.to_owned(),
                })
            }
            _ => Err(ApiError::new(
                ErrorCode::IncompleteSignatureException,
                format!(
                    "Credential should be scoped to a valid region, service and date: \
                     'Credential={credential}'."
                ),
            )),
        }
    }
}

/// How access keys map to accounts, read once at cold start.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    pub default_account_id: String,
    pub default_region: String,
    pub allow_anonymous: bool,
    /// access key id → (account id, IAM user name)
    pub keys: HashMap<String, (String, Option<String>)>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            default_account_id: "123456789012".into(),
            default_region: "us-east-1".into(),
            allow_anonymous: false,
            keys: HashMap::new(),
        }
    }
}

impl IdentityConfig {
    /// `LOGBOOK_ACCOUNT_ID`, `LOGBOOK_REGION`, `LOGBOOK_ALLOW_ANONYMOUS` and `LOGBOOK_ACCESS_KEYS`
    /// (`KEY=ACCOUNT[/USER],...`); see the README.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut cfg = IdentityConfig::default();
        if let Some(a) = var("LOGBOOK_ACCOUNT_ID") {
            cfg.default_account_id = a;
        }
        if let Some(r) = var("LOGBOOK_REGION") {
            cfg.default_region = r;
        }
        cfg.allow_anonymous =
            var("LOGBOOK_ALLOW_ANONYMOUS").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        if let Some(keys) = var("LOGBOOK_ACCESS_KEYS") {
            cfg.keys = parse_key_map(&keys);
        }
        cfg
    }

    pub fn resolve(&self, headers: &HeaderMap) -> Result<Identity, ApiError> {
        let auth = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(auth) = auth.filter(|a| !a.trim().is_empty()) else {
            if self.allow_anonymous {
                return Ok(Identity {
                    account_id: self.default_account_id.clone(),
                    region: self.default_region.clone(),
                    access_key_id: None,
                    user_name: None,
                });
            }
            return Err(ApiError::new(ErrorCode::MissingAuthenticationTokenException, "Missing Authentication Token"));
        };
        let sig = SigV4::parse(auth)?;
        // Signature verification goes here when it lands; the parsed header carries what it needs.
        let (account_id, user_name) = self.account_for(&sig.access_key_id);
        Ok(Identity { account_id, region: sig.region, access_key_id: Some(sig.access_key_id), user_name })
    }

    /// Configured keys first; then a key that is itself a 12-digit account id names that account
    /// (as LocalStack does, handy for tests); anything else is the default account.
    fn account_for(&self, key: &str) -> (String, Option<String>) {
        if let Some((account, user)) = self.keys.get(key) {
            return (account.clone(), user.clone());
        }
        if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) {
            return (key.to_owned(), None);
        }
        (self.default_account_id.clone(), None)
    }
}

fn parse_key_map(spec: &str) -> HashMap<String, (String, Option<String>)> {
    spec.split(',')
        .filter_map(|entry| {
            let (key, rest) = entry.trim().split_once('=')?;
            let (account, user) = match rest.split_once('/') {
                Some((a, u)) if !u.is_empty() => (a, Some(u.to_owned())),
                Some((a, _)) => (a, None),
                None => (rest, None),
            };
            Some((key.trim().to_owned(), (account.trim().to_owned(), user)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261120/eu-west-1/logs/aws4_request, \
                        SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123";

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(http::header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[test]
    fn sigv4_header_parses() {
        let s = SigV4::parse(AUTH).unwrap();
        assert_eq!(s.access_key_id, "AKIDEXAMPLE");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.service, "logs");
        assert_eq!(s.signed_headers, ["content-type", "host", "x-amz-date", "x-amz-target"]);
        assert_eq!(s.signature, "abc123");
    }

    #[test]
    fn malformed_headers_are_incomplete_signatures() {
        let cases = [
            "Basic dXNlcjpwYXNz",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x",
            "AWS4-HMAC-SHA256 Credential=AK/20261120/us-east-1/logs/aws4_request, Signature=x",
            "AWS4-HMAC-SHA256 Credential=AK/20261120/us-east-1/logs/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AK/20261120/logs/aws4_request, SignedHeaders=host, Signature=x",
            "AWS4-HMAC-SHA256 Credential=/20261120/us-east-1/logs/aws4_request, SignedHeaders=h, Signature=x",
        ];
        for c in cases {
            let e = SigV4::parse(c).unwrap_err();
            assert_eq!(e.code, ErrorCode::IncompleteSignatureException, "{c}");
        }
    }

    #[test]
    fn keys_map_to_accounts() {
        let cfg = IdentityConfig {
            keys: parse_key_map("AKIDEXAMPLE=111111111111/alice, AKIDBOB=222222222222"),
            ..IdentityConfig::default()
        };
        let id = cfg.resolve(&headers(Some(AUTH))).unwrap();
        assert_eq!(id.account_id, "111111111111");
        assert_eq!(id.region, "eu-west-1");
        assert_eq!(id.user_name.as_deref(), Some("alice"));
        assert_eq!(id.principal_arn(), "arn:aws:iam::111111111111:user/alice");

        let cases = [
            ("AKIDBOB", "222222222222"),
            ("333333333333", "333333333333"),
            ("12345678901", "123456789012"),
            ("SOMEKEY", "123456789012"),
        ];
        for (key, account) in cases {
            let auth = AUTH.replace("AKIDEXAMPLE", key);
            let id = cfg.resolve(&headers(Some(&auth))).unwrap();
            assert_eq!(id.account_id, account, "key {key}");
        }
    }

    #[test]
    fn unsigned_calls_need_permission() {
        let cfg = IdentityConfig::default();
        let e = cfg.resolve(&headers(None)).unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingAuthenticationTokenException);
        let open = IdentityConfig { allow_anonymous: true, ..IdentityConfig::default() };
        let id = open.resolve(&headers(None)).unwrap();
        assert_eq!((id.account_id.as_str(), id.region.as_str()), ("123456789012", "us-east-1"));
        assert_eq!(id.principal_arn(), "arn:aws:iam::123456789012:root");
    }
}
