//! SNS, where trails announce their log files. SNS speaks only the AWS Query protocol (form
//! fields in, XML out); two calls are needed (Publish, and GetTopicAttributes to check a topic
//! exists), so they go through [`JsonApi`]'s signer rather than a whole SDK. The endpoint is
//! `AWS_ENDPOINT_URL_SNS` (the SDKs' variable; `scripts/serve` points it at moto) or the region's.

use aws_credential_types::provider::SharedCredentialsProvider;

use crate::json_api::JsonApi;

pub struct Sns {
    api: JsonApi,
}

/// How a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnsError {
    /// SNS answered with an error: its code (`NotFound`, `AuthorizationError`, …) and status.
    Refused { code: String, status: u16 },
    /// No answer (network, timeout) or a 5xx: it may pass later.
    Unsure(String),
}

impl std::fmt::Display for SnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnsError::Refused { code, .. } => f.write_str(code),
            SnsError::Unsure(d) => write!(f, "{d}"),
        }
    }
}

/// The text of the first `<tag>…</tag>` in an XML answer.
pub fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

impl Sns {
    pub fn new(config: &aws_config::SdkConfig) -> Sns {
        Sns::at(config, std::env::var("AWS_ENDPOINT_URL_SNS").ok().filter(|e| !e.is_empty()))
    }

    /// The client for `endpoint` (the region's when `None`).
    pub fn at(config: &aws_config::SdkConfig, endpoint: Option<String>) -> Sns {
        let region = config.region().map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        let endpoint = endpoint.unwrap_or_else(|| format!("https://sns.{region}.amazonaws.com"));
        let credentials = config.credentials_provider().unwrap_or_else(|| {
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new("", "", None, None, "none"))
        });
        Sns { api: JsonApi::new(&endpoint, &region, "sns", credentials) }
    }

    /// One call (`action` with its parameters): the XML answer of a 2xx.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String, SnsError> {
        let mut all = vec![("Action", action), ("Version", "2010-03-31")];
        all.extend_from_slice(params);
        let (status, xml) = self.api.query(&all).await.map_err(SnsError::Unsure)?;
        if status.is_success() {
            return Ok(xml);
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SnsError::Unsure(format!("SNS answered {status}")));
        }
        let code = xml_text(&xml, "Code").unwrap_or("Error").to_owned();
        if code == "Throttling" || code == "ThrottledException" {
            return Err(SnsError::Unsure(code));
        }
        Err(SnsError::Refused { code, status: status.as_u16() })
    }

    /// Publishes `message` to the topic.
    pub async fn publish(&self, topic_arn: &str, message: &str) -> Result<(), SnsError> {
        self.call("Publish", &[("TopicArn", topic_arn), ("Message", message)]).await.map(|_| ())
    }

    /// Whether the topic exists and lets us read it (CloudTrail's check at CreateTrail).
    pub async fn topic_usable(&self, topic_arn: &str) -> Result<bool, SnsError> {
        match self.call("GetTopicAttributes", &[("TopicArn", topic_arn)]).await {
            Ok(_) => Ok(true),
            Err(SnsError::Refused { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_texts() {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>";
        assert_eq!(super::xml_text(xml, "Code"), Some("NotFound"));
        assert_eq!(super::xml_text(xml, "Missing"), None);
    }
}
