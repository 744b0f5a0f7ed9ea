//! Every error code Logbook returns, defined once, each knowing its HTTP status.

use std::fmt;

macro_rules! codes {
    ($($code:ident = $status:literal,)*) => {
        /// An AWS error code (`__type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($code),* }

        impl ErrorCode {
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$code => stringify!($code)),* }
            }

            /// 400 for the caller's mistakes, 5xx only for our own faults.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$code => $status),* }
            }
        }
    };
}

codes! {
    // Protocol and identity.
    UnknownOperationException = 400,
    SerializationException = 400,
    ValidationException = 400,
    MissingAuthenticationTokenException = 400,
    IncompleteSignatureException = 400,
    UnrecognizedClientException = 400,
    InvalidSignatureException = 400,
    // CloudWatch Logs.
    InvalidParameterException = 400,
    ResourceNotFoundException = 400,
    ResourceAlreadyExistsException = 400,
    LimitExceededException = 400,
    OperationAbortedException = 400,
    AccessDeniedException = 400,
    InvalidOperationException = 400,
    TooManyTagsException = 400,
    ServiceUnavailableException = 500,
    // CloudTrail (statuses as its API reference gives them).
    InvalidLookupAttributesException = 400,
    InvalidMaxResultsException = 400,
    InvalidNextTokenException = 400,
    InvalidTimeRangeException = 400,
    InvalidTrailNameException = 400,
    TrailAlreadyExistsException = 400,
    TrailNotFoundException = 404,
    MaximumNumberOfTrailsExceededException = 403,
    S3BucketDoesNotExistException = 404,
    InvalidS3BucketNameException = 400,
    InsufficientS3BucketPolicyException = 403,
    InsufficientSnsTopicPolicyException = 403,
    InvalidS3PrefixException = 400,
    InvalidSnsTopicNameException = 400,
    InvalidCloudWatchLogsLogGroupArnException = 400,
    InvalidCloudWatchLogsRoleArnException = 400,
    InvalidParameterCombinationException = 400,
    CloudTrailARNInvalidException = 400,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the client sees it: `{"__type": code, "message": message}`. Our own faults also
/// carry what went wrong (`detail`, never sent): the request pipeline logs it once, at the edge,
/// with the request id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    detail: Option<std::sync::Arc<str>>,
    /// AWS's front end answers a request it cannot read as JSON 1.1 with a bare XML
    /// `<UnknownOperationException/>` and 404, not the JSON error form.
    xml: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), detail: None, xml: false }
    }

    /// The answer to a request whose `Content-Type` is not AWS JSON 1.1: what AWS's JSON
    /// services answer (HTTP 404, `<UnknownOperationException/>`, as recorded from Kinesis and
    /// DynamoDB, which share CloudWatch Logs' front end).
    pub fn unsupported_content_type() -> Self {
        ApiError {
            code: ErrorCode::UnknownOperationException,
            message: "The request's Content-Type is not application/x-amz-json-1.1.".into(),
            detail: None,
            xml: true,
        }
    }

    /// The `Content-Type` of the answer's body.
    pub fn content_type(&self) -> &'static str {
        if self.xml { "application/xml" } else { "application/x-amz-json-1.1" }
    }

    /// What went wrong inside, for the log; `None` for the caller's mistakes.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidParameterException, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::ResourceNotFoundException, message)
    }

    /// Our own fault: the client gets a generic sentence; the detail (the source error, with its
    /// chain when it is an SDK error) travels with the error to be logged where it is answered.
    pub fn internal(detail: impl fmt::Display) -> Self {
        ApiError {
            code: ErrorCode::ServiceUnavailableException,
            message: "The service cannot complete the request.".to_owned(),
            detail: Some(detail.to_string().into()),
            xml: false,
        }
    }

    pub fn status(&self) -> u16 {
        if self.xml { 404 } else { self.code.status() }
    }

    pub fn to_body(&self) -> String {
        if self.xml {
            return format!("<{}/>", self.code.as_str());
        }
        serde_json::json!({ "__type": self.code.as_str(), "message": self.message }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_aws_shaped() {
        let e = ApiError::not_found("The specified log group does not exist.");
        let v: serde_json::Value = serde_json::from_str(&e.to_body()).unwrap();
        assert_eq!(v["__type"], "ResourceNotFoundException");
        assert_eq!(v["message"], "The specified log group does not exist.");
        assert_eq!(e.status(), 400);
        let internal = ApiError::internal("boom");
        assert_eq!(internal.status(), 500);
        assert_eq!(internal.detail(), Some("boom"));
        assert!(!internal.to_body().contains("boom"), "the detail never reaches the client");
    }
}
