//! Who is calling, proven: SigV4 signatures verified against Logbook's own key store, before any
//! other part of a request is looked at.
//!
//! Two modes, one switch (`LOGBOOK_AUTH`):
//! - `sigv4` (the default whenever the variable is unset, and always in `template.yaml`): every
//!   call carries a valid signature of a known, enabled key; the key's account scopes the call.
//! - `off` (what `scripts/serve` runs unless told otherwise): any signature is accepted unchecked,
//!   keys map to accounts through `LOGBOOK_ACCESS_KEYS`, a key of 12 digits names that account,
//!   and any other key is the default account.

pub mod keys;
pub mod sigv4;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use logbook_protocol::pipeline::Authenticate;
use logbook_protocol::{Action, ApiError, ErrorCode, Identity, Service, Target};

pub use keys::{Cache, KeyRecord, KeySource, Secret};
pub use sigv4::{Request, Signature};

/// `LOGBOOK_AUTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SigV4,
    Off,
}

impl Mode {
    pub fn from_env() -> Result<Mode, String> {
        match std::env::var("LOGBOOK_AUTH").ok().as_deref().map(str::trim) {
            None | Some("") | Some("sigv4") => Ok(Mode::SigV4),
            Some("off") => Ok(Mode::Off),
            Some(other) => Err(format!("LOGBOOK_AUTH must be sigv4 or off, not {other:?}")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SigV4 => "sigv4",
            Mode::Off => "off",
        }
    }
}

/// Every region of AWS's standard partition: what a local stack in `sigv4` mode serves when
/// `LOGBOOK_REGIONS` does not narrow it (a deployed stack serves its own region).
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The authenticator every group function's pipeline runs first.
#[derive(Debug, Clone)]
pub struct Auth {
    pub mode: Mode,
    pub keys: KeySource,
    /// Regions a credential scope may name (`sigv4`).
    pub regions: Vec<String>,
    /// `off`: the account of keys that are not mapped.
    pub default_account_id: String,
    /// `off`: the region of unsigned calls (with `LOGBOOK_ALLOW_ANONYMOUS`).
    pub default_region: String,
    /// `off` only: unsigned calls are accepted as the default account.
    pub allow_anonymous: bool,
    cache: Arc<Cache>,
}

impl Auth {
    pub fn new(mode: Mode, keys: KeySource) -> Auth {
        Auth {
            mode,
            keys,
            regions: AWS_REGIONS.iter().map(|r| (*r).to_owned()).collect(),
            default_account_id: "123456789012".into(),
            default_region: "us-east-1".into(),
            allow_anonymous: false,
            cache: Arc::default(),
        }
    }

    /// `LOGBOOK_AUTH`, `LOGBOOK_ACCESS_KEYS`, `LOGBOOK_KEY_SECRETS_PREFIX` (Secrets Manager),
    /// `LOGBOOK_REGIONS`, `LOGBOOK_ACCOUNT_ID`, `LOGBOOK_REGION`, `LOGBOOK_ALLOW_ANONYMOUS`.
    pub async fn from_env() -> Result<Auth, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mode = Mode::from_env()?;
        let mut sources = Vec::new();
        if let Some(list) = var("LOGBOOK_ACCESS_KEYS") {
            sources.push(KeySource::Static(Arc::new(keys::parse_key_list(&list))));
        }
        if let Some(prefix) = var("LOGBOOK_KEY_SECRETS_PREFIX") {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            sources.push(KeySource::SecretsManager { client: aws_sdk_secretsmanager::Client::new(&config), prefix });
        }
        let mut auth = Auth::new(mode, KeySource::Chain(sources));
        if let Some(secs) = var("LOGBOOK_KEY_CACHE_SECONDS").and_then(|s| s.parse::<u64>().ok()) {
            // At most a minute: a disabled key must stop working within one.
            auth.cache = Arc::new(Cache::with_ttl(std::time::Duration::from_secs(secs.min(60))));
        }
        if let Some(regions) = var("LOGBOOK_REGIONS") {
            auth.regions = regions.split(',').map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
        }
        if let Some(a) = var("LOGBOOK_ACCOUNT_ID") {
            auth.default_account_id = a;
        }
        if let Some(r) = var("LOGBOOK_REGION") {
            auth.default_region = r;
        }
        auth.allow_anonymous = mode == Mode::Off
            && var("LOGBOOK_ALLOW_ANONYMOUS").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        Ok(auth)
    }

    /// Checks a request and answers who sent it. `now` is the verifier's clock.
    pub async fn identify(
        &self,
        req: &Request<'_>,
        target: Option<Action>,
        now: SystemTime,
    ) -> Result<Identity, ApiError> {
        let sig = match Signature::parse(req)? {
            Some(sig) => sig,
            None if self.mode == Mode::Off && self.allow_anonymous => {
                return Ok(Identity {
                    account_id: self.default_account_id.clone(),
                    region: self.default_region.clone(),
                    access_key_id: None,
                    user_name: None,
                });
            }
            None => return Err(sigv4::missing()),
        };
        if self.mode == Mode::Off {
            return Ok(self.unchecked(&sig).await);
        }
        // Cheap checks first: no key store lookup for a request that is refused anyway.
        let service = match target.map(Action::service) {
            Some(Service::CloudTrail) => "cloudtrail",
            _ => "logs",
        };
        let scope_ok = match target {
            Some(_) => sig.service == service,
            None => matches!(sig.service.as_str(), "logs" | "cloudtrail"),
        };
        if !scope_ok {
            return Err(ApiError::new(
                ErrorCode::InvalidSignatureException,
                format!("Credential should be scoped to correct service: '{service}'. "),
            ));
        }
        if !self.regions.contains(&sig.region) {
            return Err(ApiError::new(
                ErrorCode::InvalidSignatureException,
                "Credential should be scoped to a valid region. ",
            ));
        }
        sig.check_time(now)?;
        if sig.session_token {
            // Logbook issues long-term keys only: a session token is no token of ours.
            return Err(sigv4::unrecognized());
        }
        let key = self.cache.get(&self.keys, &sig.access_key_id).await?;
        let Some(key) = key.filter(|k| k.enabled && !k.secret_access_key.expose().is_empty()) else {
            return Err(sigv4::unrecognized());
        };
        sig.verify(req, key.secret_access_key.expose())?;
        Ok(Identity {
            account_id: key.account_id,
            region: sig.region,
            access_key_id: Some(sig.access_key_id),
            user_name: key.user_name,
        })
    }

    /// `off`: the signature's key names the account (mapped keys, then 12-digit keys, then the
    /// default account); nothing is verified.
    async fn unchecked(&self, sig: &Signature) -> Identity {
        let key = &sig.access_key_id;
        let known = self.cache.get(&self.keys, key).await.ok().flatten();
        let (account_id, user_name) = match known {
            Some(k) => (k.account_id, k.user_name),
            None if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) => (key.clone(), None),
            None => (self.default_account_id.clone(), None),
        };
        Identity { account_id, region: sig.region.clone(), access_key_id: Some(key.clone()), user_name }
    }
}

impl Authenticate for Auth {
    async fn authenticate(&self, req: &lambda_http::Request) -> Result<Identity, ApiError> {
        let headers: Vec<(&str, &str)> =
            req.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
        let target = match Target::parse(req.headers().get("x-amz-target").and_then(|v| v.to_str().ok())) {
            Target::Known(a) => Some(a),
            Target::Unknown(_) => None,
        };
        let r = Request {
            method: req.method().as_str(),
            path: req.uri().path(),
            query: req.uri().query(),
            headers: &headers,
            body: req.body().as_ref(),
        };
        self.identify(&r, target, SystemTime::now()).await
    }

    fn mode(&self) -> &'static str {
        self.mode.as_str()
    }
}

/// The pagination-token codec, its key read once at cold start: from Secrets Manager when
/// `LOGBOOK_TOKEN_KEY_SECRET` names a secret (deployed: the stack generates it), else
/// `LOGBOOK_TOKEN_KEY`, else a fixed development key (local use only: tokens then resist
/// accidents, not forgery).
pub async fn token_codec() -> Result<logbook_model::TokenCodec, String> {
    let Some(secret_id) = std::env::var("LOGBOOK_TOKEN_KEY_SECRET").ok().filter(|s| !s.is_empty()) else {
        return Ok(logbook_model::TokenCodec::from_env());
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let out =
        aws_sdk_secretsmanager::Client::new(&config).get_secret_value().secret_id(&secret_id).send().await.map_err(
            |e| format!("cannot read the token key secret: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)),
        )?;
    let key = out
        .secret_string()
        .filter(|k| k.len() >= 16)
        .ok_or("the token key secret holds no key of 16 characters or more")?;
    Ok(logbook_model::TokenCodec::new(key.as_bytes()))
}

/// A static key map from `(key, secret, account, user)` rows (tests, tools).
pub fn static_keys<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str, Option<&'a str>)>) -> KeySource {
    let map: HashMap<String, KeyRecord> = rows
        .into_iter()
        .map(|(k, s, a, u)| {
            (
                k.to_owned(),
                KeyRecord {
                    access_key_id: k.to_owned(),
                    secret_access_key: Secret::new(s),
                    account_id: a.to_owned(),
                    user_name: u.map(str::to_owned),
                    enabled: true,
                    created: 0,
                },
            )
        })
        .collect();
    KeySource::Static(Arc::new(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &str, secret: &str) -> (Vec<(String, String)>, String) {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let mut headers = vec![
            ("host".to_owned(), "logbook.test".to_owned()),
            ("x-amz-target".to_owned(), "Logs_20140328.DescribeLogGroups".to_owned()),
        ];
        let body = "{}".to_owned();
        let identity = aws_credential_types::Credentials::new(key, secret, None, None, "test").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("logs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let req = SignableRequest::new(
            "POST",
            "/",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (out, _) = sign(req, &params).unwrap().into_parts();
        headers.extend(out.headers().map(|(k, v)| (k.to_owned(), v.to_owned())));
        (headers, body)
    }

    async fn who(auth: &Auth, key: &str, secret: &str) -> Result<Identity, ApiError> {
        let (headers, body) = signed(key, secret);
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = Request { method: "POST", path: "/", query: None, headers: &h, body: body.as_bytes() };
        auth.identify(&r, Some(Action::DescribeLogGroups), SystemTime::now()).await
    }

    #[tokio::test]
    async fn the_twelve_digit_shortcut_lives_only_with_signatures_off() {
        let keys = static_keys([("AKIDALICE", "s3cret", "111111111111", Some("alice"))]);
        let checked = Auth::new(Mode::SigV4, keys.clone());
        let off = Auth::new(Mode::Off, keys);
        assert_eq!(
            who(&checked, "222222222222", "anything").await.unwrap_err().code,
            ErrorCode::UnrecognizedClientException
        );
        assert_eq!(who(&off, "222222222222", "anything").await.unwrap().account_id, "222222222222");
        assert_eq!(who(&off, "SOMEKEY", "anything").await.unwrap().account_id, "123456789012");
        // A mapped key acts in its account as its user, in both modes.
        for auth in [&checked, &off] {
            let id = who(auth, "AKIDALICE", "s3cret").await.unwrap();
            assert_eq!((id.account_id.as_str(), id.user_name.as_deref()), ("111111111111", Some("alice")));
        }
        assert_eq!(who(&checked, "AKIDALICE", "wrong").await.unwrap_err().code, ErrorCode::InvalidSignatureException);
        assert!(who(&off, "AKIDALICE", "wrong").await.is_ok(), "off checks nothing");
    }

    #[tokio::test]
    async fn disabled_keys_stop_once_the_cache_forgets_them() {
        let enabled = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = enabled.clone();
        let source = KeySource::Custom(Arc::new(move |key: &str| {
            Some(KeyRecord {
                access_key_id: key.to_owned(),
                secret_access_key: Secret::new("s"),
                account_id: "111111111111".into(),
                user_name: None,
                enabled: flag.load(std::sync::atomic::Ordering::SeqCst),
                created: 0,
            })
        }));
        let mut auth = Auth::new(Mode::SigV4, source);
        auth.cache = Arc::new(Cache::with_ttl(std::time::Duration::from_millis(50)));
        assert!(who(&auth, "AKIDX", "s").await.is_ok());
        enabled.store(false, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        assert_eq!(who(&auth, "AKIDX", "s").await.unwrap_err().code, ErrorCode::UnrecognizedClientException);
    }
}
