//! Pagination tokens: opaque to clients, signed so a forged, altered or foreign token is refused
//! with AWS's `InvalidParameterException` instead of producing a wrong page.
//!
//! Form: `base64url(json) "." base64url(hmac_sha256(scope, json)[..16])`. The scope names the
//! action, the caller's account and region, and the parameters the token was issued for, so a token
//! only works for the listing that produced it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use logbook_protocol::ApiError;
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
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
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
