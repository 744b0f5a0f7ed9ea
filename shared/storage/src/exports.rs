//! Export task items. A task is created in one transaction with the account's count of active
//! tasks (at most one, AWS's limit, held under concurrency) and the worker's job that runs it;
//! it ends (completed, failed or cancelled) in one transaction that takes the count back and
//! removes the job. Progress is saved conditionally on the step read, so of two workers racing
//! on a task only one advances it, and a cancelled task is never advanced again.

use logbook_model::exports::{
    CANCELLED_MESSAGE, ExportProgress, ExportStatus, ExportTask, MAX_ACTIVE_EXPORTS, limit_exceeded, task_finished,
    task_missing,
};
use logbook_model::logs::LogStream;
use logbook_protocol::{ApiError, Identity};

use crate::keys::{self, Kind, NAME_BYTES, attr, prefix_part};
use crate::table::{Created, Expr, Query, Range, Txn, Write, from_item, n, s, to_item};
use crate::work::JobKind;
use crate::{Item, Store};

fn task_item(id: &Identity, t: &ExportTask) -> Result<Item, ApiError> {
    let mut item = to_item(t)?;
    item.extend(keys::export_task(id, &t.task_id).item());
    item.extend([Kind::ExportTask.attribute()]);
    Ok(item)
}

/// The condition that the task is still where this copy of it says: same status, same step.
fn unchanged(t: &ExportTask) -> Expr {
    Expr::when("#st = :st AND #pr.#step = :step")
        .name("#st", "status")
        .name("#pr", "progress")
        .name("#step", "step")
        .value(":st", s(t.status.as_str()))
        .value(":step", n(t.progress.step as i64))
}

/// What a page of DescribeExportTasks found.
pub struct TaskPage {
    pub tasks: Vec<ExportTask>,
    pub more: bool,
}

/// Tasks read per query while filtering a listing by status.
const TASK_PAGE: usize = 50;

impl Store {
    /// Records a new PENDING task and queues its job; `LimitExceededException` while another
    /// task of the account and region is active.
    pub async fn create_export(&self, id: &Identity, task: &ExportTask) -> Result<(), ApiError> {
        let job = self.job_put(id, JobKind::Export, &task.task_id, None)?;
        match self
            .db()
            .create_counted_with(
                task_item(id, task)?,
                &keys::counters(id),
                attr::ACTIVE_EXPORTS,
                MAX_ACTIVE_EXPORTS,
                vec![job],
            )
            .await?
        {
            Created::New => Ok(()),
            Created::AtLimit => Err(limit_exceeded()),
            // A task id (a UUID) taken already: never in practice.
            Created::Exists => Err(ApiError::internal("export task id collision")),
        }
    }

    pub async fn export_task(&self, id: &Identity, task_id: &str) -> Result<Option<ExportTask>, ApiError> {
        self.db().get(&keys::export_task(id, task_id)).await
    }

    /// A page of the account's tasks, newest first, after (older than) `after`, only those with
    /// `status` when given.
    pub async fn export_tasks(
        &self,
        id: &Identity,
        after: Option<&str>,
        status: Option<ExportStatus>,
        limit: usize,
    ) -> Result<TaskPage, ApiError> {
        let mut tasks = Vec::new();
        let mut range = after.map_or(Range::All, |a| Range::Before(keys::export_task(id, a).sk));
        loop {
            let q = Query::new(keys::export_tasks(id)).range(range.clone()).backward(true).limit(TASK_PAGE);
            let page = self.db().page(&q).await?;
            let last = page.items.last().and_then(|i| crate::table::get_s(i, keys::SK)).map(str::to_owned);
            for item in page.items {
                let task: ExportTask = from_item(item)?;
                if status.is_none_or(|s| s == task.status) {
                    if tasks.len() == limit {
                        return Ok(TaskPage { tasks, more: true });
                    }
                    tasks.push(task);
                }
            }
            match (page.last, last) {
                (Some(_), Some(sk)) => range = Range::Before(sk),
                _ => return Ok(TaskPage { tasks, more: false }),
            }
        }
    }

    /// Cancels a PENDING or RUNNING task: objects written stay, no more are.
    pub async fn cancel_export(&self, id: &Identity, task_id: &str, now: i64) -> Result<(), ApiError> {
        loop {
            let task = self.export_task(id, task_id).await?.ok_or_else(task_missing)?;
            if !task.status.is_active() {
                return Err(task_finished());
            }
            let done = ExportTask {
                status: ExportStatus::Cancelled,
                status_message: Some(CANCELLED_MESSAGE.to_owned()),
                completion_time: Some(now),
                ..task.clone()
            };
            // Changed meanwhile (started, advanced, finished): read it again.
            if self.end_export(id, &task, &done).await? {
                return Ok(());
            }
        }
    }

    /// PENDING → RUNNING: the running task, or none when the task is no longer PENDING.
    pub async fn start_export(
        &self,
        id: &Identity,
        task: &ExportTask,
        message: &str,
    ) -> Result<Option<ExportTask>, ApiError> {
        let running = ExportTask {
            status: ExportStatus::Running,
            status_message: Some(message.to_owned()),
            progress: ExportProgress { step: task.progress.step + 1, ..task.progress.clone() },
            ..task.clone()
        };
        Ok(self.advance_export(id, task, &running).await?.then_some(running))
    }

    /// Saves `next` in place of `task` unless the task changed since it was read (cancelled, or
    /// advanced by another worker). False then.
    pub async fn advance_export(&self, id: &Identity, task: &ExportTask, next: &ExportTask) -> Result<bool, ApiError> {
        Ok(self.db().put(task_item(id, next)?, Some(unchanged(task))).await? == Write::Done)
    }

    /// Ends the task as `done` says (COMPLETED, FAILED, CANCELLED): the active count goes down
    /// and the job goes, with the task's change, unless the task changed since it was read.
    pub async fn end_export(&self, id: &Identity, task: &ExportTask, done: &ExportTask) -> Result<bool, ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_put(task_item(id, done)?, Some(unchanged(task)))?,
            t.txn_decrement(&keys::counters(id), attr::ACTIVE_EXPORTS, None)?,
            t.txn_delete(&keys::work(id, JobKind::Export.as_str(), &task.task_id), None)?,
        ];
        Ok(matches!(t.transact(items).await?, Txn::Committed))
    }

    /// The first stream of the group after `after` (by name) whose name starts with `prefix`.
    pub async fn next_export_stream(
        &self,
        id: &Identity,
        group_id: &str,
        prefix: Option<&str>,
        after: Option<&str>,
    ) -> Result<Option<LogStream>, ApiError> {
        let range = prefix.map_or(Range::All, |p| Range::Prefix(prefix_part(p, NAME_BYTES).0.to_owned()));
        let mut start = after.map(|a| keys::stream(id, group_id, a).item());
        loop {
            let q = Query::new(keys::streams(id, group_id)).range(range.clone()).after(start).limit(10);
            let page = self.db().page(&q).await?;
            for item in page.items {
                let stream: LogStream = from_item(item)?;
                // A prefix longer than a hashed key keeps is matched whole here.
                if prefix.is_none_or(|p| stream.name.starts_with(p)) {
                    return Ok(Some(stream));
                }
            }
            match page.last {
                Some(last) => start = Some(last),
                None => return Ok(None),
            }
        }
    }

    /// A stream of the group by name, if it still exists.
    pub async fn export_stream(
        &self,
        id: &Identity,
        group_id: &str,
        name: &str,
    ) -> Result<Option<LogStream>, ApiError> {
        self.db().get(&keys::stream(id, group_id, name)).await
    }
}
