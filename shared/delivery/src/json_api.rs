//! A signed AWS JSON 1.0 client for the few calls Logbook makes without an SDK: CloudWatch's
//! PutMetricData and GetMetricStatistics (aws-sdk-cloudwatch speaks only CBOR, which moto's
//! server does not serve), and, locally, DynamoDB Streams for the feeder (a stream record's JSON
//! is exactly what Lambda hands the fan-out). Requests are signed by AWS's own signer
//! (aws-sigv4) and sent over rustls (hyper-rustls, already in the build through the SDKs), so
//! `https://` endpoints (deployed) and `http://` ones (local) go the same way.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct JsonApi {
    endpoint: String,
    region: String,
    /// The signing name (`monitoring`, `dynamodb`).
    service: &'static str,
    credentials: SharedCredentialsProvider,
    http: Client<Https, Full<Bytes>>,
    timeout: Duration,
}

impl JsonApi {
    pub fn new(endpoint: &str, region: &str, service: &'static str, credentials: SharedCredentialsProvider) -> JsonApi {
        let provider = || rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider())
            .unwrap_or_else(|_| {
                // No system roots (a bare container): plain HTTP endpoints still work.
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder_with_provider(provider().into())
                        .with_safe_default_protocol_versions()
                        .expect("aws-lc-rs supports the default protocol versions")
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
            })
            .https_or_http()
            .enable_http1()
            .build();
        JsonApi {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            service,
            credentials,
            http: Client::builder(TokioExecutor::new()).build(connector),
            timeout: Duration::from_secs(10),
        }
    }

    /// POSTs `body` to `target` (`Service_Version.Operation`): the answer's status and JSON
    /// (`Null` when it is not JSON). `Err` only when no answer came (signing, network, timeout).
    pub async fn call(&self, target: &str, body: &Value) -> Result<(http::StatusCode, Value), String> {
        let headers = [("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target)];
        let (status, bytes) = self.post(&headers, body.to_string()).await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// POSTs an AWS Query request (`Action=…&Version=…&…`, form-encoded; SNS speaks only this):
    /// the answer's status and its XML text.
    pub async fn query(&self, params: &[(&str, &str)]) -> Result<(http::StatusCode, String), String> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let (status, bytes) = self.post(&headers, body).await?;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Signs and sends one POST to the endpoint's root.
    async fn post(&self, headers: &[(&str, &str)], body: String) -> Result<(http::StatusCode, Bytes), String> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let credentials = self.credentials.provide_credentials().await.map_err(|e| e.to_string())?;
        let url = format!("{}/", self.endpoint);
        let host = self.endpoint.trim_start_matches("http://").trim_start_matches("https://");
        let headers: Vec<(&str, &str)> = std::iter::once(("host", host)).chain(headers.iter().copied()).collect();
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable =
            SignableRequest::new("POST", &url, headers.iter().copied(), SignableBody::Bytes(body.as_bytes()))
                .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
        let mut req = hyper::Request::post(&url);
        for (k, v) in headers.iter().copied().chain(instructions.headers()) {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        tokio::time::timeout(self.timeout, async {
            let answer = self.http.request(req).await.map_err(|e| e.to_string())?;
            let status = answer.status();
            let bytes = answer.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((status, bytes))
        })
        .await
        .map_err(|_| "timed out".to_owned())?
    }
}
