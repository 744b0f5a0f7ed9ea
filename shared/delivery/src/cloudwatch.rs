//! CloudWatch metrics, spoken as AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.*`)
//! through [`JsonApi`]: aws-sdk-cloudwatch speaks only Smithy RPC v2 CBOR
//! (`/service/…/operation/…`), which moto's server, the local stand-in for CloudWatch, answers
//! with 404. CloudWatch itself takes three protocols (CBOR, JSON 1.0 and Query); JSON 1.0 is one
//! both AWS and moto serve. One code path, deployed and local.

use aws_credential_types::provider::SharedCredentialsProvider;
use logbook_model::datapoints::{Bucket, Stat};
use serde_json::{Value, json};

use crate::json_api::JsonApi;

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

pub struct CloudWatch {
    api: JsonApi,
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
        let credentials = config.credentials_provider().unwrap_or_else(|| {
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new("", "", None, None, "none"))
        });
        CloudWatch { api: JsonApi::new(&endpoint, &region, "monitoring", credentials) }
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
        let target = format!("GraniteServiceVersion20100801.{operation}");
        let (status, v) =
            self.api.call(&target, &body).await.map_err(|e| CallError::Unsure(format!("{operation}: {e}")))?;
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
