//! CloudWatch metrics, spoken as AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.*`).
//!
//! Why not aws-sdk-cloudwatch: the crate speaks only Smithy RPC v2 CBOR (`/service/…/operation/…`),
//! which moto's server, the local stand-in for CloudWatch, answers with 404. CloudWatch itself
//! takes three protocols (CBOR, JSON 1.0 and Query); JSON 1.0 is the one both AWS and moto serve,
//! so Logbook sends the two calls it needs that way: signed by AWS's own signer (aws-sigv4) with
//! the function's credentials (aws-config's provider chain), over rustls (hyper-rustls, already
//! in the build through the SDKs). One code path, deployed and local.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use logbook_model::datapoints::{Bucket, Stat};
use serde_json::{Value, json};

/// Why a call did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// CloudWatch answered and refused the request (a 4xx other than throttling): sending it
    /// again cannot help, and nothing of it was stored.
    Refused(String),
    /// Throttled, a 5xx, a timeout or a broken connection: it may pass later, and (but for a
    /// throttle) whether it was stored is not known.
    Unsure(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused(d) => write!(f, "refused: {d}"),
            CallError::Unsure(d) => write!(f, "{d}"),
        }
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct CloudWatch {
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
    http: Client<Https, Full<Bytes>>,
    timeout: Duration,
}

/// A datapoint's time: CloudWatch's JSON protocols take epoch seconds.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl CloudWatch {
    /// The endpoint: `AWS_ENDPOINT_URL_CLOUDWATCH` (the SDKs' variable; `scripts/serve` points it
    /// at moto), else the region's.
    pub fn new(config: &aws_config::SdkConfig) -> CloudWatch {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_CLOUDWATCH").ok().filter(|e| !e.is_empty());
        CloudWatch::at(config, endpoint)
    }

    /// The client for `endpoint` (the region's when `None`).
    pub fn at(config: &aws_config::SdkConfig, endpoint: Option<String>) -> CloudWatch {
        let region = config.region().map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        let endpoint = endpoint.unwrap_or_else(|| format!("https://monitoring.{region}.amazonaws.com"));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .unwrap_or_else(|_| {
                // No system roots (a bare container): plain HTTP endpoints still work.
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
                        .with_safe_default_protocol_versions()
                        .expect("aws-lc-rs supports the default protocol versions")
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
            })
            .https_or_http()
            .enable_http1()
            .build();
        CloudWatch {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            credentials: config.credentials_provider().unwrap_or_else(|| {
                SharedCredentialsProvider::new(aws_credential_types::Credentials::new("", "", None, None, "none"))
            }),
            http: Client::builder(TokioExecutor::new()).build(connector),
            timeout: Duration::from_secs(10),
        }
    }

    /// PutMetricData of statistic sets, all of one namespace (at most 1,000, as AWS allows).
    pub async fn put_metric_data(&self, namespace: &str, points: &[(Bucket, Stat)]) -> Result<(), CallError> {
        let data: Vec<Value> = points
            .iter()
            .map(|(b, s)| {
                let mut d = json!({
                    "MetricName": b.metric,
                    "Timestamp": seconds(b.minute),
                    "StatisticValues": { "SampleCount": s.n, "Sum": s.sum, "Minimum": s.min, "Maximum": s.max },
                });
                if !b.dimensions.is_empty() {
                    d["Dimensions"] =
                        b.dimensions.iter().map(|(k, v)| json!({ "Name": k, "Value": v })).collect::<Vec<_>>().into();
                }
                if let Some(u) = &b.unit {
                    d["Unit"] = json!(u);
                }
                d
            })
            .collect();
        self.call("PutMetricData", json!({ "Namespace": namespace, "MetricData": data })).await.map(|_| ())
    }

    /// The SampleCount CloudWatch holds for one bucket's minute (0 when it holds none).
    pub async fn sample_count(&self, b: &Bucket) -> Result<f64, CallError> {
        Ok(self.statistics(b).await?.map_or(0.0, |s| s.n))
    }

    /// The statistic set CloudWatch holds for one bucket's minute (GetMetricStatistics).
    pub async fn statistics(&self, b: &Bucket) -> Result<Option<Stat>, CallError> {
        let mut q = json!({
            "Namespace": b.namespace,
            "MetricName": b.metric,
            "StartTime": seconds(b.minute),
            "EndTime": seconds(b.minute + 60_000),
            "Period": 60,
            "Statistics": ["SampleCount", "Sum", "Minimum", "Maximum"],
            "Dimensions": b.dimensions.iter().map(|(k, v)| json!({ "Name": k, "Value": v })).collect::<Vec<_>>(),
        });
        if let Some(u) = &b.unit {
            q["Unit"] = json!(u);
        }
        let answer = self.call("GetMetricStatistics", q).await?;
        let mut total: Option<Stat> = None;
        for d in answer["Datapoints"].as_array().into_iter().flatten() {
            let num = |k: &str| d[k].as_f64().unwrap_or_default();
            let s = Stat { n: num("SampleCount"), sum: num("Sum"), min: num("Minimum"), max: num("Maximum") };
            match &mut total {
                Some(t) => t.merge(&s),
                None => total = Some(s),
            }
        }
        Ok(total)
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, CallError> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let unsure = |e: String| CallError::Unsure(format!("{operation}: {e}"));
        let credentials = self.credentials.provide_credentials().await.map_err(|e| unsure(e.to_string()))?;
        let body = body.to_string();
        let url = format!("{}/", self.endpoint);
        let host = self.endpoint.trim_start_matches("http://").trim_start_matches("https://");
        let target = format!("GraniteServiceVersion20100801.{operation}");
        let headers =
            [("host", host), ("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target.as_str())];
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("monitoring")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| unsure(e.to_string()))?
            .into();
        let signable =
            SignableRequest::new("POST", &url, headers.iter().copied(), SignableBody::Bytes(body.as_bytes()))
                .map_err(|e| unsure(e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| unsure(e.to_string()))?.into_parts();
        let mut req = hyper::Request::post(&url);
        for (k, v) in headers.iter().copied().chain(instructions.headers()) {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| unsure(e.to_string()))?;
        let answer = tokio::time::timeout(self.timeout, async {
            let answer = self.http.request(req).await.map_err(|e| e.to_string())?;
            let status = answer.status();
            let bytes = answer.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((status, bytes))
        })
        .await
        .map_err(|_| unsure("timed out".into()))?
        .map_err(unsure)?;
        let (status, bytes) = answer;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(v);
        }
        let code = v["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default().to_owned();
        let detail = format!("{operation}: HTTP {status} {code} {}", v["message"].as_str().unwrap_or_default());
        if status.is_client_error() && !code.contains("Throttl") && status.as_u16() != 429 {
            Err(CallError::Refused(detail))
        } else {
            Err(CallError::Unsure(detail))
        }
    }
}
