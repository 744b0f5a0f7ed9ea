//! Subscription delivery: CloudWatch Logs' messages, cut to each target's limits, and sent the
//! way CloudWatch sends them. Lambda gets an asynchronous `Invoke` of
//! `{"awslogs":{"data":"<base64 of the gzip>"}}`; Kinesis one `PutRecord` per message, in order;
//! Firehose `PutRecordBatch`. Kinesis and Firehose are written with the credentials of the
//! filter's (or destination's) `roleArn`, assumed through STS as CloudWatch Logs assumes it; the
//! role must trust Logbook's delivery role (see the README).
//!
//! Every failure says whether trying again can help ([`Failure::retryable`]): throttling, 5xx
//! and network faults can; a missing target or a refused permission cannot, and AWS drops such
//! deliveries at once.

pub mod cloudwatch;
pub mod json_api;
pub mod s3;
pub mod sns;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use base64::Engine as _;
use logbook_model::subscriptions::{DeliveredEvent, TargetArn, control_message, data_message, gzip};

/// The largest gzip a Lambda message may be: the async Invoke payload is at most 256 KB, and the
/// JSON around base64 (4/3 of the bytes) takes the rest.
pub const LAMBDA_MAX: usize = 190_000;
/// Kinesis: a record's data and partition key together at most 1 MiB.
pub const KINESIS_MAX: usize = 1_000_000;
/// Firehose: a record at most 1,000 KiB; a call at most 500 records and 4 MiB.
pub const FIREHOSE_MAX: usize = 1_000_000;
const FIREHOSE_CALL_RECORDS: usize = 500;
const FIREHOSE_CALL_BYTES: usize = 4 * 1024 * 1024;
/// Uncompressed JSON per message before it is compressed and measured (log text compresses
/// 5–10×; a message that still does not fit is split in two).
const RAW_MESSAGE_MAX: usize = 1024 * 1024;

/// Where a delivery goes, with the role it is written with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Lambda { arn: String, name: String, qualifier: Option<String> },
    Kinesis { region: String, stream: String, role: String },
    Firehose { region: String, name: String, role: String },
}

impl Target {
    /// The target an ARN names, written with `role` (required for Kinesis and Firehose).
    pub fn of(arn: &str, role: Option<&str>) -> Option<Target> {
        match TargetArn::parse(arn) {
            TargetArn::Lambda { name, qualifier, .. } => Some(Target::Lambda { arn: arn.to_owned(), name, qualifier }),
            TargetArn::Kinesis { region, stream, .. } => {
                Some(Target::Kinesis { region, stream, role: role?.to_owned() })
            }
            TargetArn::Firehose { region, name, .. } => Some(Target::Firehose { region, name, role: role?.to_owned() }),
            _ => None,
        }
    }

    /// The largest compressed message the target takes.
    pub fn max_message(&self) -> usize {
        match self {
            Target::Lambda { .. } => LAMBDA_MAX,
            Target::Kinesis { .. } => KINESIS_MAX,
            Target::Firehose { .. } => FIREHOSE_MAX,
        }
    }

    fn parsed(&self) -> TargetArn {
        match self {
            Target::Lambda { arn, .. } => TargetArn::parse(arn),
            Target::Kinesis { region, stream, .. } => {
                TargetArn::Kinesis { region: region.clone(), account: String::new(), stream: stream.clone() }
            }
            Target::Firehose { region, name, .. } => {
                TargetArn::Firehose { region: region.clone(), account: String::new(), name: name.clone() }
            }
        }
    }
}

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Whether sending the same thing again later can succeed.
    pub retryable: bool,
    pub detail: String,
}

impl Failure {
    fn retry(detail: impl Into<String>) -> Failure {
        Failure { retryable: true, detail: detail.into() }
    }
    fn fatal(detail: impl Into<String>) -> Failure {
        Failure { retryable: false, detail: detail.into() }
    }
}

/// Error codes that mean "later": throttling, capacity, the service's own faults.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalFailureException",
    "InternalServerError",
    "ServiceException",
    "TooManyRequestsException",
    "KMSThrottlingException",
    "ResourceInUseException",
    "EC2ThrottledException",
    "ResourceNotReadyException",
    "RequestTimeout",
];

/// Classifies an SDK error (the macro keeps each SDK's concrete response type).
macro_rules! classify {
    ($e:expr, $what:expr) => {{
        use aws_sdk_lambda::error::ProvideErrorMetadata as _;
        let e = $e;
        let status = e.raw_response().map(|r| r.status().as_u16());
        let code = e.code().map(str::to_owned);
        let detail = format!("{}: {}", $what, aws_sdk_lambda::error::DisplayErrorContext(&e));
        match (&e, code.as_deref(), status) {
            (aws_sdk_lambda::error::SdkError::ConstructionFailure(_), _, _) => Failure::fatal(detail),
            (_, Some(c), _) if RETRYABLE_CODES.contains(&c) => Failure::retry(detail),
            (_, _, Some(s)) if s >= 500 || s == 429 || s == 408 => Failure::retry(detail),
            (_, _, Some(s)) if (400..500).contains(&s) => Failure::fatal(detail),
            // Timeouts, refused connections, cut responses: the target may come back.
            _ => Failure::retry(detail),
        }
    }};
}

/// Credentials of an assumed role, kept until shortly before they expire.
#[derive(Clone)]
struct Assumed {
    config: SdkConfig,
    until: SystemTime,
}

/// The clients deliveries go through.
pub struct Targets {
    /// The SDK configuration deliveries start from (the function's own role, or locally any
    /// key and the local endpoints).
    base: SdkConfig,
    /// When set (the subscriptions function), the role every delivery is made as: Logbook's
    /// delivery role, which targets' roles and functions trust. The fan-out runs as it already.
    delivery_role: Option<String>,
    /// Locally: `cargo lambda watch`'s Invoke API, where Lambda targets are called by bare name.
    lambda_endpoint: Option<String>,
    roles: Mutex<HashMap<(Option<String>, String), Assumed>>,
}

impl Targets {
    /// The SDK's configuration chain (`AWS_ENDPOINT_URL_KINESIS`, `…_FIREHOSE`, `…_STS` point it
    /// at local services), `LOGBOOK_DELIVERY_ROLE_ARN` and `LOGBOOK_DELIVERY_LAMBDA_ENDPOINT`.
    pub async fn from_env() -> Targets {
        let base = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let role = std::env::var("LOGBOOK_DELIVERY_ROLE_ARN").ok().filter(|r| !r.is_empty());
        let lambda = std::env::var("LOGBOOK_DELIVERY_LAMBDA_ENDPOINT").ok().filter(|r| !r.is_empty());
        Targets::new(base, role, lambda)
    }

    pub fn new(base: SdkConfig, delivery_role: Option<String>, lambda_endpoint: Option<String>) -> Targets {
        Targets { base, delivery_role, lambda_endpoint, roles: Mutex::default() }
    }

    /// The configuration of `role` assumed from `from` (or from the base credentials), cached.
    async fn assume(&self, from: Option<&SdkConfig>, role: &str) -> Result<SdkConfig, Failure> {
        let key = (from.map(|_| "chained".to_owned()), role.to_owned());
        if let Some(a) = self.roles.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && a.until > SystemTime::now()
        {
            return Ok(a.config.clone());
        }
        let from = from.unwrap_or(&self.base);
        let sts = aws_sdk_sts::Client::new(from);
        let out = sts
            .assume_role()
            .role_arn(role)
            .role_session_name("logbook-delivery")
            .send()
            .await
            .map_err(|e| classify!(e, format!("AssumeRole {role}")))?;
        let c = out.credentials().ok_or_else(|| Failure::retry("AssumeRole answered no credentials"))?;
        let expires = SystemTime::try_from(*c.expiration()).unwrap_or_else(|_| SystemTime::now());
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            Some(expires),
            "logbook-delivery",
        );
        let config = from.to_builder().credentials_provider(SharedCredentialsProvider::new(creds)).build();
        let until = expires.checked_sub(Duration::from_secs(300)).unwrap_or_else(SystemTime::now);
        self.roles.lock().unwrap_or_else(|e| e.into_inner()).insert(key, Assumed { config: config.clone(), until });
        Ok(config)
    }

    /// The configuration a delivery to `target` is made with.
    async fn config_for(&self, target: &Target) -> Result<SdkConfig, Failure> {
        let delivery = match &self.delivery_role {
            Some(r) => Some(self.assume(None, r).await?),
            None => None,
        };
        match target {
            Target::Lambda { .. } => Ok(delivery.unwrap_or_else(|| self.base.clone())),
            Target::Kinesis { role, region, .. } | Target::Firehose { role, region, .. } => {
                let c = self.assume(delivery.as_ref(), role).await?;
                // A stream in another region than Logbook's: its own regional endpoint.
                if c.region().map(|r| r.as_ref()) == Some(region.as_str()) || region.is_empty() {
                    Ok(c)
                } else {
                    Ok(c.to_builder().region(aws_config::Region::new(region.clone())).build())
                }
            }
        }
    }

    /// Sends `messages` (gzip, each within the target's limit) in order. `partition_key` is the
    /// Kinesis partition key (per `distribution`).
    pub async fn send(&self, target: &Target, partition_key: &str, messages: &[Vec<u8>]) -> Result<(), Failure> {
        if messages.is_empty() {
            return Ok(());
        }
        let config = self.config_for(target).await?;
        match target {
            Target::Lambda { arn, name, qualifier } => {
                let client = self.lambda_client(&config);
                // Locally the Invoke API knows functions by their bare names.
                let (function, qualifier) = match &self.lambda_endpoint {
                    Some(_) => (name.clone(), None),
                    None => (arn.clone(), qualifier.clone()),
                };
                for m in messages {
                    let payload = lambda_payload(m);
                    let out = client
                        .invoke()
                        .function_name(&function)
                        .set_qualifier(qualifier.clone())
                        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                        .send()
                        .await
                        .map_err(|e| classify!(e, format!("Invoke {function}")))?;
                    if let Some(err) = out.function_error() {
                        return Err(Failure::retry(format!("Invoke {function}: the function failed ({err})")));
                    }
                }
                Ok(())
            }
            Target::Kinesis { stream, .. } => {
                let client = aws_sdk_kinesis::Client::new(&config);
                let mut previous: Option<String> = None;
                for m in messages {
                    let out = client
                        .put_record()
                        .stream_name(stream)
                        .partition_key(partition_key)
                        .data(aws_sdk_kinesis::primitives::Blob::new(m.clone()))
                        // Records of one call keep their order within the shard.
                        .set_sequence_number_for_ordering(previous.take())
                        .send()
                        .await
                        .map_err(|e| classify!(e, format!("Kinesis PutRecord {stream}")))?;
                    previous = Some(out.sequence_number().to_owned());
                }
                Ok(())
            }
            Target::Firehose { name, .. } => {
                let client = aws_sdk_firehose::Client::new(&config);
                for call in firehose_calls(messages) {
                    let records = call
                        .iter()
                        .map(|m| {
                            aws_sdk_firehose::types::Record::builder()
                                .data(aws_sdk_firehose::primitives::Blob::new(m.to_vec()))
                                .build()
                                .map_err(|e| Failure::fatal(format!("Firehose record: {e}")))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let out = client
                        .put_record_batch()
                        .delivery_stream_name(name)
                        .set_records(Some(records))
                        .send()
                        .await
                        .map_err(|e| classify!(e, format!("Firehose PutRecordBatch {name}")))?;
                    // Some records refused (throttled): the whole call again (at least once).
                    if out.failed_put_count() > 0 {
                        return Err(Failure::retry(format!(
                            "Firehose PutRecordBatch {name}: {} of {} records failed",
                            out.failed_put_count(),
                            call.len()
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    fn lambda_client(&self, config: &SdkConfig) -> aws_sdk_lambda::Client {
        let mut b = aws_sdk_lambda::config::Builder::from(config);
        if let Some(e) = &self.lambda_endpoint {
            b = b.endpoint_url(e);
        }
        aws_sdk_lambda::Client::from_conf(b.build())
    }

    /// The health check CloudWatch sends when a filter or destination is put: a
    /// `CONTROL_MESSAGE` record written to Kinesis or Firehose; for Lambda, a dry-run Invoke
    /// (permission and existence, without running it), or locally, where the Invoke API cannot
    /// dry-run, the control message itself, which subscribers skip.
    pub async fn test(&self, target: &Target, now: i64) -> Result<(), Failure> {
        let message = gzip(&control_message(&target.parsed(), now));
        match target {
            Target::Lambda { arn, qualifier, .. } if self.lambda_endpoint.is_none() => {
                let config = self.config_for(target).await?;
                self.lambda_client(&config)
                    .invoke()
                    .function_name(arn)
                    .set_qualifier(qualifier.clone())
                    .invocation_type(aws_sdk_lambda::types::InvocationType::DryRun)
                    .send()
                    .await
                    .map_err(|e| classify!(e, format!("Invoke (dry run) {arn}")))?;
                Ok(())
            }
            _ => self.send(target, "CloudwatchLogs", &[message]).await,
        }
    }
}

/// The Lambda event CloudWatch Logs sends: `{"awslogs":{"data":"<base64 of the gzip>"}}`.
pub fn lambda_payload(gzipped: &[u8]) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(gzipped);
    serde_json::to_vec(&serde_json::json!({ "awslogs": { "data": data } })).unwrap_or_default()
}

/// Groups messages into PutRecordBatch calls of at most 500 records and 4 MiB.
fn firehose_calls(messages: &[Vec<u8>]) -> Vec<&[Vec<u8>]> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        if i > start && (i - start == FIREHOSE_CALL_RECORDS || bytes + m.len() > FIREHOSE_CALL_BYTES) {
            calls.push(&messages[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += m.len();
    }
    if start < messages.len() {
        calls.push(&messages[start..]);
    }
    calls
}

/// The Kinesis partition key for a log stream's messages: stable per stream (`ByLogStream`, so
/// one stream's records keep their order in one shard) or random (`Random`, spread evenly).
pub fn partition_key(distribution: &str, group: &str, stream: &str) -> String {
    use sha2::Digest;
    if distribution == "Random" {
        return format!("{:032x}", fastrand::u128(..));
    }
    let digest = sha2::Sha256::digest(format!("{group}\n{stream}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// One log stream's matching events as compressed `DATA_MESSAGE`s, in order, each at most
/// `max` bytes. Returns the messages and how many events could not fit any message (a single
/// event that compresses past the target's limit): those are dropped, as they can never be sent.
pub fn messages(
    owner: &str,
    group: &str,
    stream: &str,
    filters: &[&str],
    events: &[DeliveredEvent],
    max: usize,
) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut dropped = 0;
    let mut start = 0;
    let mut raw = 0;
    let mut pending: std::collections::VecDeque<&[DeliveredEvent]> = std::collections::VecDeque::new();
    for (i, e) in events.iter().enumerate() {
        // The event's JSON: its message escaped, its id and time, the punctuation.
        let size = e.message.len() + e.id.len() + 64;
        if i > start && raw + size > RAW_MESSAGE_MAX {
            pending.push_back(&events[start..i]);
            start = i;
            raw = 0;
        }
        raw += size;
    }
    if start < events.len() {
        pending.push_back(&events[start..]);
    }
    // Compress each run in order; one too large is split in two, and the halves go first.
    while let Some(run) = pending.pop_front() {
        let gz = gzip(&data_message(owner, group, stream, filters, run));
        if gz.len() <= max {
            out.push(gz);
        } else if run.len() == 1 {
            dropped += 1;
        } else {
            let (a, b) = run.split_at(run.len() / 2);
            pending.push_front(b);
            pending.push_front(a);
        }
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize, message: String) -> DeliveredEvent {
        DeliveredEvent { id: format!("{i:06}"), timestamp: i as i64, message, extracted_fields: None }
    }

    fn decode(gz: &[u8]) -> serde_json::Value {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2_reader(gz), &mut s).unwrap();
        serde_json::from_str(&s).unwrap()
    }

    fn flate2_reader(gz: &[u8]) -> impl std::io::Read + '_ {
        flate2::read::GzDecoder::new(gz)
    }

    #[test]
    fn messages_keep_order_and_fit_the_target() {
        // 3,000 events of 1 KB of incompressible text: many messages under 190 KB each.
        let mut seed = 7u64;
        let mut text = |n: usize| {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    char::from(b'!' + ((seed >> 33) % 90) as u8)
                })
                .collect::<String>()
        };
        let events: Vec<DeliveredEvent> = (0..3000).map(|i| ev(i, text(1000))).collect();
        let (msgs, dropped) = messages("1", "g", "s", &["f"], &events, LAMBDA_MAX);
        assert_eq!(dropped, 0);
        assert!(msgs.len() > 10, "{} messages", msgs.len());
        let mut ids = Vec::new();
        for m in &msgs {
            assert!(m.len() <= LAMBDA_MAX, "{} bytes", m.len());
            assert!(lambda_payload(m).len() <= 256 * 1024);
            let v = decode(m);
            assert_eq!(v["messageType"], "DATA_MESSAGE");
            ids.extend(v["logEvents"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        }
        let want: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        assert!(ids == want, "every event once, in order ({} ids, first {:?})", ids.len(), ids.first());

        // One event that cannot fit is dropped, the others still go.
        let events = vec![ev(1, "a".into()), ev(2, text(300_000)), ev(3, "c".into())];
        let (msgs, dropped) = messages("1", "g", "s", &["f"], &events, 10_000);
        assert_eq!(dropped, 1);
        let ids: Vec<String> = msgs
            .iter()
            .flat_map(|m| decode(m)["logEvents"].as_array().unwrap().clone())
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["000001", "000003"]);
        // Nothing to send, nothing sent.
        assert_eq!(messages("1", "g", "s", &["f"], &[], LAMBDA_MAX), (vec![], 0));
    }

    #[test]
    fn firehose_calls_respect_records_and_bytes() {
        let small: Vec<Vec<u8>> = (0..1_200).map(|_| vec![0u8; 10]).collect();
        let sizes: Vec<usize> = firehose_calls(&small).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [500, 500, 200]);
        let big: Vec<Vec<u8>> = (0..9).map(|_| vec![0u8; 1_000_000]).collect();
        let calls = firehose_calls(&big);
        assert!(calls.iter().all(|c| c.iter().map(Vec::len).sum::<usize>() <= FIREHOSE_CALL_BYTES));
        assert_eq!(calls.iter().map(|c| c.len()).sum::<usize>(), 9);
        assert!(firehose_calls(&[]).is_empty());
    }

    #[test]
    fn targets_and_partition_keys() {
        let cases = [
            ("arn:aws:lambda:us-east-1:1:function:f", None, true),
            ("arn:aws:kinesis:us-east-1:1:stream/s", Some("arn:aws:iam::1:role/r"), true),
            ("arn:aws:kinesis:us-east-1:1:stream/s", None, false),
            ("arn:aws:firehose:us-east-1:1:deliverystream/d", Some("arn:aws:iam::1:role/r"), true),
            ("arn:aws:logs:us-east-1:1:destination:d", None, false),
            ("arn:aws:s3:::bucket", Some("r"), false),
        ];
        for (arn, role, some) in cases {
            assert_eq!(Target::of(arn, role).is_some(), some, "{arn}");
        }
        let k = partition_key("ByLogStream", "g", "s");
        assert_eq!(k, partition_key("ByLogStream", "g", "s"));
        assert_ne!(k, partition_key("ByLogStream", "g", "t"));
        assert!(k.len() <= 256);
        assert_ne!(partition_key("Random", "g", "s"), partition_key("Random", "g", "s"));
    }
}
