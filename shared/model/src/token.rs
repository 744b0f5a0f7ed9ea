//! Pagination tokens: opaque to clients, signed so a forged, altered or foreign token is refused
//! with AWS's `InvalidParameterException` instead of producing a wrong page.
//!
//! Form: `base64url(json) "." base64url(hmac_sha256(scope, json)[..16])`. The scope names the
//! action, the caller's account and region, and the parameters the token was issued for, so a token
//! only works for the listing that produced it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use logbook_protocol::{Action, ApiError, ErrorCode, Identity, Service};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

const DEV_KEY: &[u8] = b"logbook-local-development-token-key";
const TAG_LEN: usize = 16;

#[derive(Clone)]
pub struct TokenCodec {
    key: Vec<u8>,
}

impl TokenCodec {
    pub fn new(key: &[u8]) -> Self {
        TokenCodec { key: key.to_vec() }
    }

    /// `LOGBOOK_TOKEN_KEY`, or a fixed development key (tokens then only resist accidents).
    pub fn from_env() -> Self {
        match std::env::var("LOGBOOK_TOKEN_KEY") {
            Ok(k) if !k.is_empty() => TokenCodec::new(k.as_bytes()),
            _ => TokenCodec::new(DEV_KEY),
        }
    }

    fn tag(&self, scope: &str, payload: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac.finalize().into_bytes().into()
    }

    pub fn seal<T: Serialize>(&self, scope: &str, value: &T) -> String {
        let payload = serde_json::to_vec(value).expect("token payloads serialise");
        let tag = self.tag(scope, &payload);
        format!("{}.{}", B64.encode(&payload), B64.encode(&tag[..TAG_LEN]))
    }

    pub fn open<T: DeserializeOwned>(&self, scope: &str, token: &str) -> Result<T, ApiError> {
        let invalid = || ApiError::invalid_parameter("The specified nextToken is invalid.");
        let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
        let payload = B64.decode(payload).map_err(|_| invalid())?;
        let tag = B64.decode(tag).map_err(|_| invalid())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).map_err(|_| invalid())?;
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(&payload);
        mac.verify_truncated_left(&tag).map_err(|_| invalid())?;
        if tag.len() != TAG_LEN {
            return Err(invalid());
        }
        serde_json::from_slice(&payload).map_err(|_| invalid())
    }
}

/// What a token carries. Checked after the token's signature: a token that verifies but holds
/// something no listing could have issued (a key of any length, an inverted window) is refused
/// as invalid rather than reaching the table.
pub trait Cursor: Serialize + DeserializeOwned {
    fn in_range(&self) -> bool;
}

/// A log group name, as DescribeLogGroups pages by it.
impl Cursor for String {
    fn in_range(&self) -> bool {
        self.chars().count() <= crate::validate::NAME_MAX && crate::validate::is_group_name(self)
    }
}

/// The tokens of one listing. Every paginated action gets its tokens here: the scope names the
/// action, the caller's account and region, and the request's parameters (anything that changes
/// the listing, such as a prefix or a group's immutable id), so a token only resumes the listing
/// that issued it; anything else is the action's invalid-token error.
pub struct Pager<'a> {
    codec: &'a TokenCodec,
    scope: String,
    service: Service,
}

impl TokenCodec {
    pub fn pager(&self, action: Action, id: &Identity, params: &impl Serialize) -> Pager<'_> {
        let params = serde_json::to_string(params).expect("token scopes serialise");
        let scope = format!("{}|{}|{}|{params}", action.name(), id.account_id, id.region);
        Pager { codec: self, scope, service: action.service() }
    }
}

impl Pager<'_> {
    /// The cursor a token carries, or the action's invalid-token error.
    pub fn open<T: Cursor>(&self, token: &str) -> Result<T, ApiError> {
        let invalid = |e: ApiError| match self.service {
            Service::Logs => e,
            Service::CloudTrail => ApiError::new(
                ErrorCode::InvalidNextTokenException,
                "Invalid NextToken: it was issued for other parameters, or is not a token.",
            ),
        };
        let cursor: T = self.codec.open(&self.scope, token).map_err(invalid)?;
        if !cursor.in_range() {
            return Err(invalid(ApiError::invalid_parameter("The specified nextToken is invalid.")));
        }
        Ok(cursor)
    }

    /// The cursor of an optional token.
    pub fn start<T: Cursor>(&self, token: Option<&str>) -> Result<Option<T>, ApiError> {
        token.map(|t| self.open(t)).transpose()
    }

    pub fn seal<T: Serialize>(&self, cursor: &T) -> String {
        self.codec.seal(&self.scope, cursor)
    }

    /// A page's next token: a cursor after its last item, when more follow.
    pub fn next<T: Serialize>(&self, more: bool, last: Option<T>) -> Option<String> {
        last.filter(|_| more).map(|c| self.seal(&c))
    }
}

/// Adds `nextToken` to a listing's response body when there is a next page.
pub fn with_next_token(mut body: serde_json::Value, next: Option<String>) -> serde_json::Value {
    if let Some(t) = next {
        body["nextToken"] = serde_json::Value::String(t);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagers_bind_tokens_to_their_listing() {
        let c = TokenCodec::new(b"k");
        let id = |a: &str| Identity {
            account_id: a.into(),
            region: "us-east-1".into(),
            access_key_id: None,
            user_name: None,
        };
        let p = c.pager(Action::DescribeLogGroups, &id("1"), &Some("pre"));
        let t = p.next(true, Some("g-9")).unwrap();
        assert_eq!(p.open::<String>(&t).unwrap(), "g-9");
        assert_eq!(p.next(false, Some("g-9")), None, "the last page has no token");
        for other in [
            c.pager(Action::DescribeLogGroups, &id("2"), &Some("pre")),
            c.pager(Action::DescribeLogGroups, &id("1"), &Some("other")),
            c.pager(Action::DescribeLogStreams, &id("1"), &Some("pre")),
        ] {
            assert_eq!(other.open::<String>(&t).unwrap_err().code, ErrorCode::InvalidParameterException);
        }
        let trail = c.pager(Action::LookupEvents, &id("1"), &());
        assert_eq!(trail.open::<String>(&t).unwrap_err().code, ErrorCode::InvalidNextTokenException);
        // Signed by us, but holding what no listing issues: refused, not looked up.
        let long = p.seal(&"g".repeat(5_000));
        assert_eq!(p.open::<String>(&long).unwrap_err().message, "The specified nextToken is invalid.");
        let bad = p.seal(&"a b".to_owned());
        assert!(p.open::<String>(&bad).is_err());
    }

    #[test]
    fn round_trip_and_tampering() {
        let c = TokenCodec::new(b"k");
        let t = c.seal("DescribeLogGroups|1|us-east-1|", &"group-9");
        assert_eq!(c.open::<String>("DescribeLogGroups|1|us-east-1|", &t).unwrap(), "group-9");

        let (payload, tag) = t.split_once('.').unwrap();
        let forged = format!("{}.{tag}", B64.encode(br#""group-0""#));
        let bad: Vec<(&str, String)> = vec![
            ("other scope", t.clone()),
            ("DescribeLogGroups|1|us-east-1|", forged),
            ("DescribeLogGroups|1|us-east-1|", format!("{payload}.")),
            ("DescribeLogGroups|1|us-east-1|", format!("{payload}.{}", &tag[..tag.len() - 2])),
            ("DescribeLogGroups|1|us-east-1|", payload.to_owned()),
            ("DescribeLogGroups|1|us-east-1|", "not a token".into()),
            ("DescribeLogGroups|1|us-east-1|", String::new()),
        ];
        for (scope, token) in bad {
            let e = c.open::<String>(scope, &token).unwrap_err();
            assert_eq!(e.message, "The specified nextToken is invalid.", "{scope} {token}");
        }
        // Another key refuses the token too.
        assert!(TokenCodec::new(b"other").open::<String>("DescribeLogGroups|1|us-east-1|", &t).is_err());
    }
}
