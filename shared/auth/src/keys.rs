//! Access keys: which account and IAM user a key belongs to, its secret, and whether it is
//! enabled. Deployed, keys live in AWS Secrets Manager, one secret per key under
//! `logbook/{stack}/keys/{accessKeyId}`; locally they come from `LOGBOOK_ACCESS_KEYS` (and the
//! local Secrets Manager the admin tool writes to). Warm instances cache what they read for
//! [`CACHE_TTL`], so a key disabled or deleted stops working within a minute.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logbook_protocol::ApiError;
use serde::{Deserialize, Serialize};

/// How long a warm instance trusts what it read about a key.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long it remembers that a key does not exist (a caller spraying made-up keys costs one
/// lookup per key and ten seconds).
pub const NEGATIVE_TTL: Duration = Duration::from_secs(10);
/// Entries a warm instance keeps before it starts afresh.
const CACHE_MAX: usize = 10_000;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// One access key, as the key store holds it (and as each Secrets Manager secret's JSON reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub account_id: String,
    /// The IAM user name; none for the account's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Epoch milliseconds.
    #[serde(default)]
    pub created: i64,
}

fn enabled() -> bool {
    true
}

/// A key store written as a function (tests).
pub type KeyFn = Arc<dyn Fn(&str) -> Option<KeyRecord> + Send + Sync>;

/// Where keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// A fixed map (`LOGBOOK_ACCESS_KEYS`).
    Static(Arc<HashMap<String, KeyRecord>>),
    /// One Secrets Manager secret per key, named `{prefix}{accessKeyId}`.
    SecretsManager { client: aws_sdk_secretsmanager::Client, prefix: String },
    /// The first source that knows the key.
    Chain(Vec<KeySource>),
    /// A function (tests).
    Custom(KeyFn),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Static(m) => write!(f, "Static({} keys)", m.len()),
            KeySource::SecretsManager { prefix, .. } => write!(f, "SecretsManager({prefix})"),
            KeySource::Chain(c) => f.debug_list().entries(c).finish(),
            KeySource::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl KeySource {
    /// The key, or `None` when no source has it.
    pub fn lookup<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Option<KeyRecord>, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            match self {
                KeySource::Static(m) => Ok(m.get(access_key_id).cloned()),
                KeySource::Custom(f) => Ok(f(access_key_id)),
                KeySource::SecretsManager { client, prefix } => secrets::get(client, prefix, access_key_id).await,
                KeySource::Chain(sources) => {
                    for s in sources {
                        if let Some(k) = s.lookup(access_key_id).await? {
                            return Ok(Some(k));
                        }
                    }
                    Ok(None)
                }
            }
        })
    }
}

/// `KEY:SECRET=ACCOUNT[/USER],…` (the secret is optional for `off` mode: `KEY=ACCOUNT[/USER]`).
pub fn parse_key_list(spec: &str) -> HashMap<String, KeyRecord> {
    spec.split(',')
        .filter_map(|entry| {
            let (key, rest) = entry.trim().split_once('=')?;
            let (key, secret) = key.split_once(':').unwrap_or((key, ""));
            let (account, user) = match rest.split_once('/') {
                Some((a, u)) if !u.trim().is_empty() => (a, Some(u.trim().to_owned())),
                Some((a, _)) => (a, None),
                None => (rest, None),
            };
            let key = key.trim().to_owned();
            (!key.is_empty()).then(|| {
                (
                    key.clone(),
                    KeyRecord {
                        access_key_id: key,
                        secret_access_key: Secret::new(secret.trim()),
                        account_id: account.trim().to_owned(),
                        user_name: user,
                        enabled: true,
                        created: 0,
                    },
                )
            })
        })
        .collect()
}

/// What a warm instance read about keys, and when.
#[derive(Debug)]
pub struct Cache {
    entries: Mutex<HashMap<String, (Option<KeyRecord>, Instant)>>,
    ttl: Duration,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache::with_ttl(CACHE_TTL)
    }
}

impl Cache {
    pub fn with_ttl(ttl: Duration) -> Cache {
        Cache { entries: Mutex::default(), ttl }
    }

    /// The key from the cache while fresh, else from `source` (and remembered).
    pub async fn get(&self, source: &KeySource, access_key_id: &str) -> Result<Option<KeyRecord>, ApiError> {
        let now = Instant::now();
        if let Some((record, at)) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(access_key_id) {
            let ttl = if record.is_some() { self.ttl } else { NEGATIVE_TTL.min(self.ttl) };
            if now.duration_since(*at) < ttl {
                return Ok(record.clone());
            }
        }
        let record = source.lookup(access_key_id).await?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        entries.insert(access_key_id.to_owned(), (record.clone(), now));
        Ok(record)
    }
}

/// The Secrets Manager key store, shared by the functions (read) and the admin tool (write).
pub mod secrets {
    use aws_sdk_secretsmanager::Client;
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

    use super::KeyRecord;
    use logbook_protocol::ApiError;

    fn internal<E: std::error::Error>(e: E) -> ApiError {
        ApiError::internal(aws_sdk_secretsmanager::error::DisplayErrorContext(e))
    }

    /// A key by its id; `None` when there is no such secret.
    pub async fn get(client: &Client, prefix: &str, access_key_id: &str) -> Result<Option<KeyRecord>, ApiError> {
        // Key ids become secret names: anything but a plain id is no key of ours.
        if access_key_id.is_empty()
            || access_key_id.len() > 128
            || !access_key_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Ok(None);
        }
        match client.get_secret_value().secret_id(format!("{prefix}{access_key_id}")).send().await {
            Ok(out) => {
                let Some(text) = out.secret_string() else { return Ok(None) };
                let record: KeyRecord = serde_json::from_str(text)
                    .map_err(|e| ApiError::internal(format!("key secret {access_key_id}: {e}")))?;
                Ok(Some(record).filter(|r| r.access_key_id == access_key_id))
            }
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    /// Stores a new key (fails if the id is taken).
    pub async fn create(client: &Client, prefix: &str, record: &KeyRecord) -> Result<(), ApiError> {
        let text = serde_json::to_string(record).map_err(ApiError::internal)?;
        client
            .create_secret()
            .name(format!("{prefix}{}", record.access_key_id))
            .description(format!("Logbook access key of account {}", record.account_id))
            .secret_string(text)
            .send()
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Replaces a key's record (enable/disable).
    pub async fn put(client: &Client, prefix: &str, record: &KeyRecord) -> Result<(), ApiError> {
        let text = serde_json::to_string(record).map_err(ApiError::internal)?;
        client
            .put_secret_value()
            .secret_id(format!("{prefix}{}", record.access_key_id))
            .secret_string(text)
            .send()
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Deletes a key at once (no recovery window: a deleted key must stop working).
    pub async fn delete(client: &Client, prefix: &str, access_key_id: &str) -> Result<(), ApiError> {
        client
            .delete_secret()
            .secret_id(format!("{prefix}{access_key_id}"))
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Every key under the prefix (secrets included: callers print only what they must).
    pub async fn list(client: &Client, prefix: &str) -> Result<Vec<KeyRecord>, ApiError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .list_secrets()
                .filters(
                    aws_sdk_secretsmanager::types::Filter::builder()
                        .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                        .values(prefix)
                        .build(),
                )
                .set_next_token(token)
                .send()
                .await
                .map_err(internal)?;
            for s in page.secret_list() {
                if let Some(id) = s.name().and_then(|n| n.strip_prefix(prefix))
                    && let Some(record) = get(client, prefix, id).await?
                {
                    out.push(record);
                }
            }
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists_parse() {
        let keys = parse_key_list("AKIDA:secretA=111111111111/alice, AKIDB=222222222222 ,bad, AKIDC:s:x=333333333333/");
        assert_eq!(keys.len(), 3);
        let a = &keys["AKIDA"];
        assert_eq!(
            (a.secret_access_key.expose(), a.account_id.as_str(), a.user_name.as_deref()),
            ("secretA", "111111111111", Some("alice"))
        );
        assert_eq!(keys["AKIDB"].secret_access_key.expose(), "", "no secret: usable only with auth off");
        assert_eq!(keys["AKIDC"].secret_access_key.expose(), "s:x");
        assert_eq!(keys["AKIDC"].user_name, None);
    }

    #[test]
    fn secrets_never_print() {
        let keys = parse_key_list("AKIDA:topsecret=111111111111");
        let shown = format!("{:?} {:?}", keys["AKIDA"], KeySource::Static(Arc::new(keys.clone())));
        assert!(!shown.contains("topsecret"), "{shown}");
    }
}
