//! The exports action group: CreateExportTask, DescribeExportTasks, CancelExportTask. A task is
//! recorded here; the maintenance worker writes its objects (see `logbook_maintenance::export`).
//! Each handler decodes, validates, calls the store (and, for a new task, S3), encodes.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectCannedAcl;
use logbook_delivery::s3::{Refusal, refusal_of};
use logbook_model::TokenCodec;
use logbook_model::exports::{
    CancelExportTaskRequest, CreateExportTaskRequest, DescribeExportTasksRequest, ExportCursor, ExportProgress,
    ExportStatus, ExportTask, WRITE_TEST_BODY, bucket_acl_denied, bucket_missing, bucket_write_denied,
};
use logbook_model::token::with_next_token;
use logbook_protocol::{ApiError, Call, Dispatch, ops};
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct Exports {
    pub store: Store,
    pub tokens: TokenCodec,
    pub s3: aws_sdk_s3::Client,
}

impl Dispatch for Exports {
    type Op = ops::Exports;

    async fn dispatch(&self, op: ops::Exports, call: &Call) -> Result<Value, ApiError> {
        use ops::Exports as Op;
        match op {
            Op::CreateExportTask => self.create_export_task(call).await,
            Op::DescribeExportTasks => self.describe_export_tasks(call).await,
            Op::CancelExportTask => self.cancel_export_task(call).await,
        }
    }
}

fn s3_internal<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> ApiError {
    ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e))
}

impl Exports {
    /// AWS's checks before a task is accepted: the bucket exists and its ACL may be read, and the
    /// write-test object can be written under the prefix (it stays, as on AWS).
    async fn check_bucket(&self, bucket: &str, prefix: &str) -> Result<(), ApiError> {
        if let Err(e) = self.s3.get_bucket_acl().bucket(bucket).send().await {
            return Err(match refusal_of(&e) {
                Some(Refusal::NoBucket) => bucket_missing(),
                Some(Refusal::Denied) => bucket_acl_denied(),
                None => s3_internal(e),
            });
        }
        let put = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(ExportTask::write_test_key(prefix))
            .acl(ObjectCannedAcl::BucketOwnerFullControl)
            .body(ByteStream::from_static(WRITE_TEST_BODY.as_bytes()))
            .send()
            .await;
        if let Err(e) = put {
            return Err(match refusal_of(&e) {
                Some(Refusal::NoBucket) => bucket_missing(),
                Some(Refusal::Denied) => bucket_write_denied(),
                None => s3_internal(e),
            });
        }
        Ok(())
    }

    async fn create_export_task(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<CreateExportTaskRequest>()?.validate()?;
        let group = self.store.require_group(id, &cmd.log_group_name).await?;
        self.check_bucket(&cmd.destination, &cmd.destination_prefix).await?;
        let task = ExportTask {
            // Time-ordered (v7): the table lists an account's tasks in creation order by id.
            task_id: uuid::Uuid::now_v7().to_string(),
            task_name: cmd.task_name,
            log_group_name: cmd.log_group_name,
            group_id: group.id,
            log_stream_name_prefix: cmd.log_stream_name_prefix,
            from: cmd.from,
            to: cmd.to,
            destination: cmd.destination,
            destination_prefix: cmd.destination_prefix,
            status: ExportStatus::Pending,
            status_message: None,
            creation_time: now_millis(),
            completion_time: None,
            progress: ExportProgress::default(),
        };
        self.store.create_export(id, &task).await?;
        Ok(json!({ "taskId": task.task_id }))
    }

    async fn describe_export_tasks(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<DescribeExportTasksRequest>()?.validate()?;
        if let Some(task_id) = &cmd.task_id {
            // Zero or one task; an id that names none is an empty list, not an error (as AWS).
            let task = self.store.export_task(id, task_id).await?;
            let found = task.filter(|t| &t.task_id == task_id && cmd.status.is_none_or(|s| s == t.status));
            return Ok(json!({ "exportTasks": found.iter().map(ExportTask::view).collect::<Vec<_>>() }));
        }
        let pager = self.tokens.pager(call.action, id, &cmd);
        let after: Option<ExportCursor> = pager.start(cmd.next_token.as_deref())?;
        let page = self.store.export_tasks(id, after.as_ref().map(|c| c.task.as_str()), cmd.status, cmd.limit).await?;
        let next = pager.next(page.more, page.tasks.last().map(|t| ExportCursor { task: t.task_id.clone() }));
        let views: Vec<Value> = page.tasks.iter().map(ExportTask::view).collect();
        Ok(with_next_token(json!({ "exportTasks": views }), next))
    }

    async fn cancel_export_task(&self, call: &Call) -> Result<Value, ApiError> {
        let task_id = call.decode::<CancelExportTaskRequest>()?.validate()?;
        self.store.cancel_export(&call.identity, &task_id, now_millis()).await?;
        Ok(Value::Null)
    }
}
