//! Export tasks (CreateExportTask, DescribeExportTasks, CancelExportTask): a log group's events
//! in a time range, written to an S3 bucket as gzip files in the background. The wire shapes, the
//! checks AWS makes, and the task as stored with its progress (the worker's cursor).

use logbook_protocol::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::validate::Violations;

/// Active (PENDING or RUNNING) tasks per account and region.
pub const MAX_ACTIVE_EXPORTS: i64 = 1;
/// The prefix AWS uses when the request names none.
pub const DEFAULT_PREFIX: &str = "exportedlogs";
/// The object written (and left) under the prefix before CreateExportTask answers, as AWS does.
pub const WRITE_TEST_OBJECT: &str = "aws-logs-write-test";
pub const WRITE_TEST_BODY: &str = "Permission Check Successful";
/// Names, prefixes, bucket names and task ids: AWS's model bounds them at 512 characters.
const NAME_MAX: usize = 512;

/// A task's status code; `PENDING_CANCEL` exists in the enum but Logbook cancels at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    PendingCancel,
}

impl ExportStatus {
    pub const NAMES: &'static [&'static str] =
        &["CANCELLED", "COMPLETED", "FAILED", "PENDING", "PENDING_CANCEL", "RUNNING"];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Pending => "PENDING",
            ExportStatus::Running => "RUNNING",
            ExportStatus::Completed => "COMPLETED",
            ExportStatus::Failed => "FAILED",
            ExportStatus::Cancelled => "CANCELLED",
            ExportStatus::PendingCancel => "PENDING_CANCEL",
        }
    }

    pub fn parse(s: &str) -> Option<ExportStatus> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }

    /// PENDING or RUNNING: counts against the one-active-task limit, may be cancelled.
    pub fn is_active(self) -> bool {
        matches!(self, ExportStatus::Pending | ExportStatus::Running | ExportStatus::PendingCancel)
    }
}

/// Where an export stands: the stream being written (streams go in name order), the last event
/// written from it, and the number of the next object. Saved after each object, so a worker that
/// dies resumes at the object it was writing and writes it again, whole, under the same key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportProgress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The position (a `logbook_storage::events::Pos`, kept opaque here) of the last event written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default)]
    pub object: u32,
    /// Saved progress steps; every save is conditional on the one read, so two workers never
    /// both advance a task.
    #[serde(default)]
    pub step: u64,
    /// Totals so far, for the closing log line and the benchmark.
    #[serde(default)]
    pub objects: u64,
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub bytes: u64,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTask {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    pub log_group_name: String,
    /// The group incarnation exported (a group deleted and re-created is another).
    pub group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream_name_prefix: Option<String>,
    pub from: i64,
    pub to: i64,
    pub destination: String,
    pub destination_prefix: String,
    pub status: ExportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub creation_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<i64>,
    #[serde(default)]
    pub progress: ExportProgress,
}

impl ExportTask {
    /// DescribeExportTasks' view (no `logStreamNamePrefix`: the 2018 shape has none).
    pub fn view(&self) -> Value {
        let mut status = json!({ "code": self.status.as_str() });
        if let Some(m) = &self.status_message {
            status["message"] = json!(m);
        }
        let mut info = json!({ "creationTime": self.creation_time });
        if let Some(t) = self.completion_time {
            info["completionTime"] = json!(t);
        }
        let mut v = json!({
            "taskId": self.task_id,
            "logGroupName": self.log_group_name,
            "from": self.from,
            "to": self.to,
            "destination": self.destination,
            "destinationPrefix": self.destination_prefix,
            "status": status,
            "executionInfo": info,
        });
        if let Some(n) = &self.task_name {
            v["taskName"] = json!(n);
        }
        v
    }

    /// The key of an object of this task: `{prefix}/{taskId}/{stream, '/' → '-'}/000000.gz`.
    pub fn object_key(&self, stream: &str, n: u32) -> String {
        format!("{}/{}/{}/{n:06}.gz", self.destination_prefix, self.task_id, stream.replace('/', "-"))
    }

    /// The write-test object's key.
    pub fn write_test_key(prefix: &str) -> String {
        format!("{prefix}/{WRITE_TEST_OBJECT}")
    }
}

pub const RUNNING_MESSAGE: &str = "Started Successfully";
pub const COMPLETED_MESSAGE: &str = "Completed successfully";
pub const CANCELLED_MESSAGE: &str = "Cancelled by user";

pub fn limit_exceeded() -> ApiError {
    ApiError::new(ErrorCode::LimitExceededException, "Resource limit exceeded.")
}

pub fn task_missing() -> ApiError {
    ApiError::not_found("The specified export task does not exist.")
}

pub fn task_finished() -> ApiError {
    ApiError::new(ErrorCode::InvalidOperationException, "The specified export task has already finished.")
}

pub fn bucket_missing() -> ApiError {
    ApiError::invalid_parameter("The given bucket does not exist. Please make sure the bucket is valid.")
}

/// AWS's answer (2026) when it may not read the bucket's ACL.
pub fn bucket_acl_denied() -> ApiError {
    ApiError::new(
        ErrorCode::AccessDeniedException,
        "GetBucketAcl call on the given bucket failed. Please check if CloudWatch Logs has been granted permission to perform this operation.",
    )
}

pub fn bucket_write_denied() -> ApiError {
    ApiError::new(
        ErrorCode::AccessDeniedException,
        "Please ensure that the CreateExportTask caller has been granted s3:PutObject access to the bucket.",
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateExportTaskRequest {
    pub task_name: Option<String>,
    pub log_group_name: Option<String>,
    pub log_stream_name_prefix: Option<String>,
    /// `fromTime` in the SDKs; `from` on the wire.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub destination: Option<String>,
    pub destination_prefix: Option<String>,
}

/// A checked CreateExportTask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateExportTask {
    pub task_name: Option<String>,
    pub log_group_name: String,
    pub log_stream_name_prefix: Option<String>,
    pub from: i64,
    pub to: i64,
    pub destination: String,
    pub destination_prefix: String,
}

impl CreateExportTaskRequest {
    pub fn validate(self) -> Result<CreateExportTask, ApiError> {
        let mut v = Violations::new();
        v.length("taskName", self.task_name.as_deref(), 1, NAME_MAX);
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        v.stream_name("logStreamNamePrefix", self.log_stream_name_prefix.as_deref());
        if self.from.is_none() {
            v.push("from", None, "Member must not be null");
        }
        v.range("from", self.from, 0, i64::MAX);
        if self.to.is_none() {
            v.push("to", None, "Member must not be null");
        }
        v.range("to", self.to, 0, i64::MAX);
        let bucket = v.required("destination", self.destination.as_deref());
        v.length("destination", bucket, 1, NAME_MAX);
        // An empty prefix would put the objects at the bucket's root with a leading '/'.
        v.length("destinationPrefix", self.destination_prefix.as_deref(), 1, NAME_MAX);
        v.finish()?;
        Ok(CreateExportTask {
            task_name: self.task_name,
            log_group_name: self.log_group_name.unwrap_or_default(),
            log_stream_name_prefix: self.log_stream_name_prefix,
            from: self.from.unwrap_or_default(),
            to: self.to.unwrap_or_default(),
            destination: self.destination.unwrap_or_default(),
            destination_prefix: self.destination_prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_owned()),
        })
    }
}

/// Where a page of DescribeExportTasks starts: after this task (tasks go newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportCursor {
    pub task: String,
}

impl crate::token::Cursor for ExportCursor {
    fn in_range(&self) -> bool {
        !self.task.is_empty() && self.task.len() <= NAME_MAX
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExportTasksRequest {
    pub task_id: Option<String>,
    pub status_code: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

/// A checked DescribeExportTasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DescribeExportTasks {
    pub task_id: Option<String>,
    pub status: Option<ExportStatus>,
    #[serde(skip)]
    pub next_token: Option<String>,
    #[serde(skip)]
    pub limit: usize,
}

impl DescribeExportTasksRequest {
    pub fn validate(self) -> Result<DescribeExportTasks, ApiError> {
        let mut v = Violations::new();
        v.length("taskId", self.task_id.as_deref(), 1, NAME_MAX);
        v.one_of("statusCode", self.status_code.as_deref(), ExportStatus::NAMES);
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.finish()?;
        Ok(DescribeExportTasks {
            task_id: self.task_id,
            status: self.status_code.as_deref().and_then(ExportStatus::parse),
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelExportTaskRequest {
    pub task_id: Option<String>,
}

impl CancelExportTaskRequest {
    pub fn validate(self) -> Result<String, ApiError> {
        let mut v = Violations::new();
        let id = v.required("taskId", self.task_id.as_deref());
        v.length("taskId", id, 1, NAME_MAX);
        v.finish()?;
        Ok(self.task_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_flatten_stream_names() {
        let t = ExportTask {
            task_id: "t1".into(),
            task_name: None,
            log_group_name: "g".into(),
            group_id: "G".into(),
            log_stream_name_prefix: None,
            from: 0,
            to: 1,
            destination: "b".into(),
            destination_prefix: "exportedlogs".into(),
            status: ExportStatus::Pending,
            status_message: None,
            creation_time: 0,
            completion_time: None,
            progress: ExportProgress::default(),
        };
        assert_eq!(t.object_key("2026/12/07/[$LATEST]abc", 0), "exportedlogs/t1/2026-12-07-[$LATEST]abc/000000.gz");
        assert_eq!(t.object_key("i-0377", 12), "exportedlogs/t1/i-0377/000012.gz");
        let v = t.view();
        assert_eq!(v["status"], json!({"code": "PENDING"}));
        assert!(v.get("taskName").is_none() && v.get("logStreamNamePrefix").is_none());
    }

    #[test]
    fn create_requests_are_checked() {
        let ok = || CreateExportTaskRequest {
            task_name: Some("t".into()),
            log_group_name: Some("g".into()),
            log_stream_name_prefix: None,
            from: Some(0),
            to: Some(10),
            destination: Some("bucket".into()),
            destination_prefix: None,
        };
        let c = ok().validate().unwrap();
        assert_eq!(c.destination_prefix, DEFAULT_PREFIX);
        type Case = (&'static str, fn(&mut CreateExportTaskRequest));
        let cases: &[Case] = &[
            ("logGroupName", |r| r.log_group_name = None),
            ("logGroupName", |r| r.log_group_name = Some("bad name".into())),
            ("from", |r| r.from = None),
            ("from", |r| r.from = Some(-1)),
            ("to", |r| r.to = None),
            ("to", |r| r.to = Some(-5)),
            ("destination", |r| r.destination = None),
            ("destination", |r| r.destination = Some(String::new())),
            ("destinationPrefix", |r| r.destination_prefix = Some(String::new())),
            ("taskName", |r| r.task_name = Some(String::new())),
            ("taskName", |r| r.task_name = Some("x".repeat(513))),
            ("logStreamNamePrefix", |r| r.log_stream_name_prefix = Some("a:b".into())),
        ];
        for (member, change) in cases {
            let mut r = ok();
            change(&mut r);
            let e = r.validate().unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameterException, "{member}");
            assert!(e.message.contains(&format!("at '{member}'")), "{member}: {}", e.message);
        }
    }

    #[test]
    fn describe_and_cancel_requests_are_checked() {
        let d = |status: Option<&str>, limit: Option<i64>| {
            DescribeExportTasksRequest {
                task_id: None,
                status_code: status.map(str::to_owned),
                next_token: None,
                limit,
            }
            .validate()
        };
        assert_eq!(d(Some("RUNNING"), Some(5)).unwrap().status, Some(ExportStatus::Running));
        for (status, limit) in [(Some("running"), None), (None, Some(0)), (None, Some(51))] {
            assert_eq!(d(status, limit).unwrap_err().code, ErrorCode::InvalidParameterException);
        }
        assert!(CancelExportTaskRequest { task_id: None }.validate().is_err());
        assert!(CancelExportTaskRequest { task_id: Some(String::new()) }.validate().is_err());
    }
}
