//! S3, where export tasks (and, later, trails) write.

/// An S3 client from the usual configuration; `AWS_ENDPOINT_URL_S3` points it at a local
/// S3-compatible server (moto under `scripts/serve`), which wants path-style addressing.
pub async fn client_from_env() -> aws_sdk_s3::Client {
    client(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

/// [`client_from_env`] on a configuration already loaded (one load per cold start).
pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let local = std::env::var("AWS_ENDPOINT_URL_S3").is_ok();
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(local).build())
}

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// How S3 refused a request the caller's input caused: the bucket is not there, or we may not
/// do what we asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoBucket,
    Denied,
}

/// Sorts an S3 error into a [`Refusal`], or `None` for throttling, 5xx and network faults
/// (trying again may help).
pub fn refusal<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, status: Option<u16>) -> Option<Refusal> {
    match (e.code(), status) {
        (Some("NoSuchBucket"), _) | (_, Some(404)) => Some(Refusal::NoBucket),
        (Some("AccessDenied" | "AllAccessDisabled" | "InvalidAccessKeyId"), _) | (_, Some(403)) => {
            Some(Refusal::Denied)
        }
        _ => None,
    }
}

/// [`refusal`] of an SDK error, reading its HTTP status.
pub fn refusal_of<E: ProvideErrorMetadata>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<Refusal> {
    refusal(e, e.raw_response().map(|r| r.status().as_u16()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    fn error(code: Option<&str>, status: u16) -> SdkError<PutObjectError, HttpResponse> {
        let mut meta = ErrorMetadata::builder();
        if let Some(c) = code {
            meta = meta.code(c);
        }
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(PutObjectError::generic(meta.build()), raw)
    }

    #[test]
    fn refusals_are_told_from_faults() {
        for (code, status, want) in [
            (Some("NoSuchBucket"), 404, Some(Refusal::NoBucket)),
            (None, 404, Some(Refusal::NoBucket)),
            (Some("AccessDenied"), 403, Some(Refusal::Denied)),
            (Some("AllAccessDisabled"), 403, Some(Refusal::Denied)),
            (None, 403, Some(Refusal::Denied)),
            (Some("SlowDown"), 503, None),
            (Some("InternalError"), 500, None),
            (None, 500, None),
        ] {
            assert_eq!(refusal_of(&error(code, status)), want, "{code:?} {status}");
        }
    }
}
