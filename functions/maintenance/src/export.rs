//! Export tasks, run by the worker: a task's streams in name order, each stream's events in time
//! order within `[from, to]`, written as gzip objects of at most [`Exporter::object_bytes`] of
//! log text (`{prefix}/{taskId}/{stream}/000000.gz`, `000001.gz`, …).
//!
//! Memory stays flat whatever the group's size: one object is built at a time, from reads of at
//! most [`READ_BYTES`]. After each object the task's progress (stream, last event, next object
//! number) is saved, conditionally on the step read: a worker that dies mid-object resumes at
//! that object and writes it again, whole, under the same key (no line is in two objects); a
//! cancelled task (its status changed) stops at the next save; two workers on one task cannot
//! both advance it.

use std::io::Write as _;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectCannedAcl;
use flate2::Compression;
use flate2::write::GzEncoder;
use logbook_delivery::s3::{Refusal, refusal_of};
use logbook_model::exports::{COMPLETED_MESSAGE, ExportProgress, ExportStatus, ExportTask, RUNNING_MESSAGE};
use logbook_protocol::{ApiError, Identity};
use logbook_storage::events::{Direction, Pos, Read};
use logbook_storage::work::{Job, Outcome};
use logbook_storage::{Store, now_millis};

/// Log text per object unless `LOGBOOK_EXPORT_OBJECT_BYTES` says otherwise. AWS does not say
/// where it splits a stream; this bounds the worker's memory (the gzip of one object).
pub const OBJECT_BYTES: usize = 32 * 1024 * 1024;
/// Log text per read of the store.
const READ_BYTES: usize = 8 * 1024 * 1024;
/// The longest line an event makes (a 1 MiB message, its timestamp and separators, with room):
/// an event too large for an object's room is read alone with this much room.
const LARGEST_LINE: usize = 1024 * 1024 + 1024;
/// Events per read (their positions cost memory too).
const READ_EVENTS: usize = 50_000;

pub struct Exporter {
    pub store: Store,
    pub s3: aws_sdk_s3::Client,
    pub object_bytes: usize,
}

/// What one step did: the task's next state, or its end.
enum Step {
    Next(ExportTask),
    End(ExportTask),
}

impl Exporter {
    pub fn from_env(store: Store, config: &aws_config::SdkConfig) -> Exporter {
        let object_bytes = std::env::var("LOGBOOK_EXPORT_OBJECT_BYTES")
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(OBJECT_BYTES);
        Exporter { store, s3: logbook_delivery::s3::client(config), object_bytes }
    }

    /// Advances the job's task, one object at a time, until it ends or the deadline passes.
    pub async fn run(&self, job: &Job, deadline: Instant) -> Result<Outcome, ApiError> {
        let id = job.identity();
        let Some(mut task) = self.store.export_task(&id, &job.resource).await? else {
            return Err(ApiError::internal("an export job without its task"));
        };
        if task.status == ExportStatus::Pending {
            match self.store.start_export(&id, &task, RUNNING_MESSAGE).await? {
                Some(running) => task = running,
                None => return Ok(Outcome::Superseded),
            }
        }
        if task.status != ExportStatus::Running {
            // Cancelled meanwhile: its job went with the cancellation.
            return Ok(Outcome::Superseded);
        }
        loop {
            if Instant::now() >= deadline {
                return Ok(Outcome::Paused);
            }
            match self.step(&id, &task).await? {
                Step::Next(next) => {
                    if !self.store.advance_export(&id, &task, &next).await? {
                        return Ok(Outcome::Superseded);
                    }
                    task = next;
                }
                Step::End(done) => {
                    tracing::info!(task = %done.task_id, status = done.status.as_str(), objects = done.progress.objects,
                        events = done.progress.events, bytes = done.progress.bytes, "export ended");
                    return Ok(if self.store.end_export(&id, &task, &done).await? {
                        Outcome::Done
                    } else {
                        Outcome::Superseded
                    });
                }
            }
        }
    }

    /// Writes the next object of the task (when there are events for it) and says where the
    /// task stands after it.
    async fn step(&self, id: &Identity, task: &ExportTask) -> Result<Step, ApiError> {
        let p = &task.progress;
        let prefix = task.log_stream_name_prefix.as_deref();
        // The stream in progress, or the next one (the first, or the one after a stream deleted
        // mid-export).
        let current = match &p.stream {
            Some(name) => self.store.export_stream(id, &task.group_id, name).await?,
            None => None,
        };
        let (stream, after, object) = match current {
            Some(s) => (s, p.after.clone(), p.object),
            None => {
                let after_name = p.stream.as_deref();
                match self.store.next_export_stream(id, &task.group_id, prefix, after_name).await? {
                    Some(s) => (s, None, 0),
                    None => return Ok(Step::End(ended(task, ExportStatus::Completed, COMPLETED_MESSAGE))),
                }
            }
        };
        let start: Pos = match after {
            Some(v) => serde_json::from_value(v).map_err(|e| ApiError::internal(format!("export position: {e}")))?,
            None => Pos::start(),
        };
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        let (mut raw, mut events) = (0usize, 0u64);
        let mut last = start;
        let now = now_millis();
        let finished = loop {
            // A read brings at most what still fits in the object: a line is the message plus 26
            // bytes, as the store counts events.
            let room = self.object_bytes.saturating_sub(raw).min(READ_BYTES);
            let mut read = Read {
                group_id: &task.group_id,
                stream: &stream,
                spans: None,
                lo: task.from,
                hi: task.to.saturating_add(1),
                from: &last,
                direction: Direction::Forward,
                limit: READ_EVENTS,
                max_bytes: room,
                now,
            };
            let mut batch = self.store.read_events(id, &read).await?;
            if batch.is_empty() && room < LARGEST_LINE {
                if raw > 0 {
                    // The next event (if any) does not fit: it starts the next object.
                    break false;
                }
                // An event larger than a whole object gets an object of its own.
                read.limit = 1;
                read.max_bytes = LARGEST_LINE;
                batch = self.store.read_events(id, &read).await?;
            }
            if batch.is_empty() {
                break true;
            }
            for e in batch {
                let line = format!("{} {}\n", logbook_audit::iso8601_millis(e.pos.ts), e.message);
                gz.write_all(line.as_bytes()).map_err(ApiError::internal)?;
                raw += line.len();
                events += 1;
                last = e.pos;
            }
            if raw >= self.object_bytes {
                break false;
            }
        };
        let mut progress = ExportProgress { step: p.step + 1, ..p.clone() };
        if raw > 0 {
            let body = gz.finish().map_err(ApiError::internal)?;
            if let Some(failure) = self.put(task, &task.object_key(&stream.name, object), body).await? {
                return Ok(Step::End(ended(task, ExportStatus::Failed, failure)));
            }
            progress.objects += 1;
            progress.events += events;
            progress.bytes += raw as u64;
        }
        if finished {
            match self.store.next_export_stream(id, &task.group_id, prefix, Some(&stream.name)).await? {
                Some(next) => {
                    progress.stream = Some(next.name);
                    progress.after = None;
                    progress.object = 0;
                }
                None => {
                    let mut done = ended(task, ExportStatus::Completed, COMPLETED_MESSAGE);
                    done.progress = progress;
                    return Ok(Step::End(done));
                }
            }
        } else {
            progress.stream = Some(stream.name.clone());
            progress.after = Some(serde_json::to_value(&last).map_err(ApiError::internal)?);
            progress.object = object + 1;
        }
        Ok(Step::Next(ExportTask { progress, ..task.clone() }))
    }

    /// Puts one object. `Some(message)` when the bucket refuses it for good (gone, or no longer
    /// writable): the task fails with that message. Other faults are errors: the worker tries
    /// the object again on its next run.
    async fn put(&self, task: &ExportTask, key: &str, body: Vec<u8>) -> Result<Option<&'static str>, ApiError> {
        let put = self
            .s3
            .put_object()
            .bucket(&task.destination)
            .key(key)
            .acl(ObjectCannedAcl::BucketOwnerFullControl)
            .content_type("application/x-gzip")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e) => match refusal_of(&e) {
                Some(Refusal::NoBucket) => {
                    Ok(Some("The given bucket does not exist. Please make sure the bucket is valid."))
                }
                Some(Refusal::Denied) => {
                    Ok(Some("Access to the given bucket was denied: the export could not be written."))
                }
                None => Err(ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e))),
            },
        }
    }
}

fn ended(task: &ExportTask, status: ExportStatus, message: &str) -> ExportTask {
    ExportTask {
        status,
        status_message: Some(message.to_owned()),
        completion_time: Some(now_millis()),
        progress: ExportProgress { step: task.progress.step + 1, ..task.progress.clone() },
        ..task.clone()
    }
}
