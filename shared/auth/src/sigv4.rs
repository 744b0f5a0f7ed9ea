//! AWS Signature Version 4, checked: both forms (the `Authorization` header and the presigned
//! query string), the credential scope, the time, and the signature itself.
//!
//! The canonical request is not rebuilt here: the request, reduced to exactly the headers the
//! client signed, is signed again with the key's secret by the `aws-sigv4` crate (what every AWS
//! SDK for Rust signs with), and the two signatures are compared in constant time. So the
//! canonical form (URI normalisation, double encoding, sorted and encoded query, trimmed and
//! lower-cased headers, the payload hash) is AWS's own code's, and `tests/` hold it to AWS's
//! published SigV4 test suite.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningParams, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use logbook_protocol::{ApiError, ErrorCode};
use subtle::ConstantTimeEq;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's time may be from ours, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(300);
/// The longest a presigned request may stay valid (AWS: 7 days).
pub const MAX_EXPIRES: u64 = 604_800;

/// Which form carried the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Header,
    Query,
}

/// A request's signature, parsed (not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub form: Form,
    pub access_key_id: String,
    /// The scope's date, `YYYYMMDD`.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Date`, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// Presigned only: `X-Amz-Expires`, seconds.
    pub expires: Option<u64>,
    /// A session token was sent (Logbook issues none).
    pub session_token: bool,
}

/// The parts of a request the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Path and query as sent (still percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Every header, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }

    /// Query parameters, still encoded, split into (name, value).
    fn params(&self) -> Vec<(&str, &str)> {
        self.query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect()
    }
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::IncompleteSignatureException, message)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidSignatureException, message)
}

pub fn missing() -> ApiError {
    ApiError::new(ErrorCode::MissingAuthenticationTokenException, "Missing Authentication Token")
}

pub fn unrecognized() -> ApiError {
    ApiError::new(ErrorCode::UnrecognizedClientException, "The security token included in the request is invalid.")
}

pub fn mismatch() -> ApiError {
    invalid(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details.",
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `AKID/20150830/us-east-1/logs/aws4_request` → (key, date, region, service).
fn scope(credential: &str, what: &str) -> Result<(String, String, String, String), ApiError> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, "aws4_request"]
            if !key.is_empty() && date.len() == 8 && !region.is_empty() && !service.is_empty() =>
        {
            Ok(((*key).into(), (*date).into(), (*region).into(), (*service).into()))
        }
        _ => Err(incomplete(format!(
            "Credential should be scoped to a valid region, service and date: '{what}={credential}'."
        ))),
    }
}

impl Signature {
    /// The signature a request carries: `None` when it carries none (no `Authorization` header
    /// and no `X-Amz-Signature` parameter); an `IncompleteSignatureException` when one is there
    /// but malformed.
    pub fn parse(req: &Request<'_>) -> Result<Option<Signature>, ApiError> {
        if let Some(auth) = req.header("authorization").filter(|a| !a.trim().is_empty()) {
            return Signature::from_header(auth, req).map(Some);
        }
        let params = req.params();
        if params.iter().any(|(k, _)| percent_decode(k).starts_with("X-Amz-")) {
            return Signature::from_query(&params, req).map(Some);
        }
        Ok(None)
    }

    fn from_header(header: &str, req: &Request<'_>) -> Result<Signature, ApiError> {
        let need = |what: &str| {
            incomplete(format!("Authorization header requires '{what}' parameter. Authorization={header}"))
        };
        let rest = header
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or_else(|| incomplete(format!("Unsupported Authorization header algorithm. Authorization={header}")))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
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
        let credential = credential.ok_or_else(|| need("Credential"))?;
        let signed = signed.filter(|s| !s.is_empty()).ok_or_else(|| need("SignedHeaders"))?;
        let signature = signature.filter(|s| !s.is_empty()).ok_or_else(|| need("Signature"))?;
        let amz_date = req.header("x-amz-date").ok_or_else(|| {
            incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
                 Authorization={header}"
            ))
        })?;
        let (access_key_id, scope_date, region, service) = scope(credential, "Credential")?;
        Ok(Signature {
            form: Form::Header,
            access_key_id,
            scope_date,
            region,
            service,
            signed_headers: signed.split(';').map(|h| h.trim().to_ascii_lowercase()).collect(),
            signature: signature.to_owned(),
            amz_date: amz_date.trim().to_owned(),
            expires: None,
            session_token: req.header("x-amz-security-token").is_some(),
        })
    }

    fn from_query(params: &[(&str, &str)], req: &Request<'_>) -> Result<Signature, ApiError> {
        let get = |name: &str| params.iter().find(|(k, _)| percent_decode(k) == name).map(|(_, v)| percent_decode(v));
        let need = |what: &str| {
            incomplete(format!(
                "AWS query-string parameters must include '{what}'. Re-examine the query-string parameters."
            ))
        };
        let algorithm = get("X-Amz-Algorithm").ok_or_else(|| need("X-Amz-Algorithm"))?;
        if algorithm != ALGORITHM {
            return Err(incomplete(format!("Unsupported AWS 'algorithm': '{algorithm}'.")));
        }
        let credential = get("X-Amz-Credential").ok_or_else(|| need("X-Amz-Credential"))?;
        let signed = get("X-Amz-SignedHeaders").filter(|s| !s.is_empty()).ok_or_else(|| need("X-Amz-SignedHeaders"))?;
        let signature = get("X-Amz-Signature").filter(|s| !s.is_empty()).ok_or_else(|| need("X-Amz-Signature"))?;
        let amz_date = get("X-Amz-Date").ok_or_else(|| need("X-Amz-Date"))?;
        let expires = match get("X-Amz-Expires") {
            None => return Err(need("X-Amz-Expires")),
            Some(e) => e.parse::<u64>().ok().filter(|e| *e <= MAX_EXPIRES).ok_or_else(|| {
                incomplete(format!("X-Amz-Expires must be a number of seconds from 0 to {MAX_EXPIRES}."))
            })?,
        };
        let (access_key_id, scope_date, region, service) = scope(&credential, "X-Amz-Credential")?;
        Ok(Signature {
            form: Form::Query,
            access_key_id,
            scope_date,
            region,
            service,
            signed_headers: signed.split(';').map(|h| h.trim().to_ascii_lowercase()).collect(),
            signature,
            amz_date,
            expires: Some(expires),
            session_token: get("X-Amz-Security-Token").is_some() || req.header("x-amz-security-token").is_some(),
        })
    }

    /// The request's time, from `X-Amz-Date`.
    pub fn time(&self) -> Result<SystemTime, ApiError> {
        parse_amz_date(&self.amz_date).ok_or_else(|| {
            incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
                self.amz_date
            ))
        })
    }

    /// The time checks: the scope's date is the request's, and the request is within five
    /// minutes of `now` (a presigned one: not past its expiry either).
    pub fn check_time(&self, now: SystemTime) -> Result<(), ApiError> {
        let time = self.time()?;
        if !self.amz_date.starts_with(&self.scope_date) {
            return Err(invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', \
                 from '{}'.",
                self.scope_date,
                &self.amz_date[..8.min(self.amz_date.len())],
                self.amz_date
            )));
        }
        let earliest = now.checked_sub(MAX_SKEW).unwrap_or(UNIX_EPOCH);
        if time > now + MAX_SKEW {
            return Err(invalid(format!(
                "Signature not yet current: {} is still later than {} ({} + 5 min.)",
                self.amz_date,
                format_amz_date(now + MAX_SKEW),
                format_amz_date(now)
            )));
        }
        match self.expires {
            // A presigned request is good from its time until its expiry.
            Some(expires) if time + Duration::from_secs(expires) < now => {
                return Err(invalid(format!(
                    "Signature expired: {} is now earlier than {} ({} + {expires} sec.)",
                    format_amz_date(time + Duration::from_secs(expires)),
                    format_amz_date(now),
                    self.amz_date
                )));
            }
            None if time < earliest => {
                return Err(invalid(format!(
                    "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                    self.amz_date,
                    format_amz_date(earliest),
                    format_amz_date(now)
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the signature is the one `secret` makes for `req`.
    pub fn verify(&self, req: &Request<'_>, secret: &str) -> Result<(), ApiError> {
        if !self.signed_headers.iter().any(|h| h == "host") || req.header("host").is_none() {
            return Err(incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."));
        }
        let time = self.time()?;
        // Exactly the headers the client signed, as it sent them.
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(self.signed_headers.len());
        for name in &self.signed_headers {
            let values: Vec<(&str, &str)> =
                req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).copied().collect();
            if values.is_empty() {
                // Signed but not sent: nothing can match.
                return Err(mismatch());
            }
            headers.extend(values.into_iter().map(|(_, v)| (name.as_str(), v)));
        }
        let credentials = Credentials::new(&self.access_key_id, secret, None, None, "logbook-key-store");
        let identity = credentials.into();
        let mut settings = SigningSettings::default();
        // Sign every header the client listed, and nothing it did not.
        settings.excluded_headers = Some(Vec::new());
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        let query: String;
        let bodies: Vec<SignableBody<'_>> = match self.form {
            Form::Header => {
                query = req.query.unwrap_or_default().to_owned();
                vec![SignableBody::Bytes(req.body)]
            }
            Form::Query => {
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = self.expires.map(Duration::from_secs);
                // The signer adds the X-Amz-* signing parameters back itself.
                query = req
                    .params()
                    .into_iter()
                    .filter(|(k, _)| {
                        !matches!(
                            percent_decode(k).as_str(),
                            "X-Amz-Algorithm"
                                | "X-Amz-Credential"
                                | "X-Amz-Date"
                                | "X-Amz-Expires"
                                | "X-Amz-SignedHeaders"
                                | "X-Amz-Signature"
                                | "X-Amz-Security-Token"
                        )
                    })
                    .map(|(k, v)| if v.is_empty() { k.to_owned() } else { format!("{k}={v}") })
                    .collect::<Vec<_>>()
                    .join("&");
                // SDKs presign with an unsigned payload; AWS's test suite hashes the body.
                vec![SignableBody::UnsignedPayload, SignableBody::Bytes(req.body)]
            }
        };
        let uri: Cow<'_, str> =
            if query.is_empty() { Cow::Borrowed(req.path) } else { Cow::Owned(format!("{}?{query}", req.path)) };
        let params: SigningParams<'_> = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|_| mismatch())?
            .into();
        for body in bodies {
            let request =
                SignableRequest::new(req.method, uri.clone(), headers.iter().copied(), body).map_err(|_| mismatch())?;
            // The signer asserts what `verify` checked above (a host header, a valid date); a panic
            // from it would still be a refusal, never a crash.
            let signed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sign(request, &params)));
            let Ok(Ok(out)) = signed else { return Err(mismatch()) };
            if bool::from(out.signature().as_bytes().ct_eq(self.signature.as_bytes())) {
                return Ok(());
            }
        }
        Err(mismatch())
    }
}

/// `20150830T123600Z` → a time.
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !s[..8].bytes().chain(s[9..15].bytes()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs).ok().map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// A time as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's civil-to-days (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["20150830T123600Z", "19700101T000000Z", "20261206T235959Z", "20240229T120000Z"] {
            assert_eq!(format_amz_date(parse_amz_date(s).unwrap()), s);
        }
        for bad in
            ["2015-08-30T12:36:00Z", "20151330T123600Z", "20150830T123600", "", "20150830T1236001Z", "2015083xT123600Z"]
        {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
