//! Background work: re-applying a changed retention to stored chunks, and reclaiming the items of
//! deleted groups and streams. A job is one item in the [`keys::WORK`] partition, written in the
//! same transaction as the change that needs it, so no acknowledged change is without its job.
//!
//! Every step is idempotent (set a TTL to what the retention says; delete what is left), so a
//! worker that dies mid-way, or two that overlap, do no harm. A retention job keeps a cursor (the
//! stream and chunk it reached) so a long sweep resumes where it stopped.
//!
//! A request that read the old state before the change (a PutLogEvents that read the old
//! retention, a CreateLogStream that read the group before its delete) may still write after
//! the first pass went by. So a job ends only with a pass that *started* at least `settle` after
//! the change, once no such request can still be running (functions time out at 29 s). The first
//! pass runs at once, so TTLs move and storage is freed promptly; the last one catches stragglers.

use std::time::Instant;

use aws_sdk_dynamodb::types::TransactWriteItem;
use logbook_model::logs::LogGroup;
use logbook_protocol::{ApiError, Identity};
use serde::{Deserialize, Serialize};

use crate::events::chunk_expiry;
use crate::keys::{self, EXPIRES_AT, GroupPart, Key, Kind, SK, StreamPart, attr};
use crate::table::{Expr, Query, Range, Write, from_item, get_n, get_s, n, s, to_item};
use crate::{Item, Store};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Set every chunk's TTL of a group from its current retention.
    Retention,
    /// Delete the streams, chunks and metric filters of a deleted group incarnation.
    Group,
    /// Delete the chunks of a deleted stream incarnation.
    Stream,
    /// Run an export task (the resource is its id): the worker's exporter does it, not `run_job`.
    Export,
    /// Deliver a logging trail's log files (the resource is its name, the region its home): the
    /// worker's trail deliverer does it, not `run_job`. Queued by StartLogging; done once the
    /// trail is stopped and caught up, or deleted.
    Trail,
    /// Train a zstd dictionary for a busy group (the resource is its id, `group_name` its name):
    /// queued by a PutLogEvents instance once it has written enough to the group.
    Dictionary,
}

impl JobKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobKind::Retention => "retention",
            JobKind::Group => "group",
            JobKind::Stream => "stream",
            JobKind::Export => "export",
            JobKind::Trail => "trail",
            JobKind::Dictionary => "dictionary",
        }
    }
}

/// A job item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub kind: JobKind,
    pub account: String,
    pub region: String,
    /// The group's or stream's immutable id.
    pub resource: String,
    /// The group's name (retention jobs re-read the group for its current retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// When the job was (re)queued, ms.
    pub changed: i64,
    /// Unique per queueing: a job queued again (retention changed again) supersedes a running pass.
    pub generation: String,
    /// Passes completed.
    #[serde(default)]
    pub passes: u32,
    /// When the running pass started, ms; none between passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_started: Option<i64>,
    /// Retention passes: the stream being swept (inclusive) and the last chunk done in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_chunk: Option<String>,
    /// Retention passes: the streams are done and the group's active-hour items are next (the
    /// chunk cursor then points into them).
    #[serde(default)]
    pub active_phase: bool,
}

impl Job {
    /// A job as queued: no pass done, a fresh generation.
    fn queued(id: &Identity, kind: JobKind, resource: &str, group_name: Option<&str>) -> Job {
        Job {
            kind,
            account: id.account_id.clone(),
            region: id.region.clone(),
            resource: resource.to_owned(),
            group_name: group_name.map(str::to_owned),
            changed: crate::now_millis(),
            generation: ulid::Ulid::new().to_string(),
            passes: 0,
            pass_started: None,
            cursor_stream: None,
            cursor_chunk: None,
            active_phase: false,
        }
    }

    pub fn identity(&self) -> Identity {
        Identity { account_id: self.account.clone(), region: self.region.clone(), access_key_id: None, user_name: None }
    }

    fn key(&self) -> keys::Key {
        keys::work(&self.identity(), self.kind.as_str(), &self.resource)
    }

    fn item(&self) -> Result<Item, ApiError> {
        let mut item = to_item(self)?;
        item.extend(self.key().item());
        item.extend([Kind::Job.attribute()]);
        Ok(item)
    }

    /// The condition that the job was not queued again since this copy was read.
    fn same_generation(&self) -> Expr {
        Expr::when("#g = :g").name("#g", attr::GENERATION).value(":g", s(&self.generation))
    }
}

/// How much one worker run may do.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub deadline: Instant,
    /// Item writes (TTL updates, deletes) left.
    pub writes: usize,
}

impl Budget {
    fn spent(&self) -> bool {
        self.writes == 0 || Instant::now() >= self.deadline
    }
}

/// How a job's turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finished and removed.
    Done,
    /// A pass finished; the last one starts once the change has settled.
    Settling,
    /// Not yet time for its next pass.
    Waiting,
    /// The budget ran out mid-pass; the cursor is saved.
    Paused,
    /// Queued again meanwhile: the next run starts over.
    Superseded,
}

/// Chunks or items fetched per query while sweeping.
const SWEEP_PAGE: usize = 100;

impl Store {
    /// The transaction item that queues a job (replacing a queued one for the same resource).
    pub(crate) fn job_put(
        &self,
        id: &Identity,
        kind: JobKind,
        resource: &str,
        group_name: Option<&str>,
    ) -> Result<TransactWriteItem, ApiError> {
        let job = Job::queued(id, kind, resource, group_name);
        self.db().txn_put(job.item()?, None)
    }

    /// Queues a job outside a transaction (replacing a queued one for the same resource).
    pub(crate) async fn queue_job(
        &self,
        id: &Identity,
        kind: JobKind,
        resource: &str,
        group_name: Option<&str>,
    ) -> Result<(), ApiError> {
        let job = Job::queued(id, kind, resource, group_name);
        // Unconditional: replacing a queued copy is what queueing means.
        let _ = self.db().put(job.item()?, None).await?;
        Ok(())
    }

    /// Queued jobs, oldest resource first; only those of one account and region with `scope`.
    pub async fn jobs(&self, scope: Option<&Identity>) -> Result<Vec<Job>, ApiError> {
        let range = scope.map_or(Range::All, |id| Range::Prefix(keys::work_prefix(id)));
        let items = self.db().all(Query::new(keys::WORK).range(range), usize::MAX).await?;
        items.into_iter().map(from_item).collect()
    }

    /// Advances one job as far as the budget allows.
    pub async fn run_job(&self, job: &Job, settle_ms: i64, budget: &mut Budget) -> Result<Outcome, ApiError> {
        let now = crate::now_millis();
        let mut job = job.clone();
        if job.pass_started.is_none() {
            if job.passes > 0 && now < job.changed + settle_ms {
                return Ok(Outcome::Waiting);
            }
            job.pass_started = Some(now);
            job.cursor_stream = None;
            job.cursor_chunk = None;
            job.active_phase = false;
            if !self.save_job(&job).await? {
                return Ok(Outcome::Superseded);
            }
        }
        let finished = match job.kind {
            // One pass, nothing to settle: a dictionary is trained once.
            JobKind::Dictionary => {
                // Training takes a second or two of CPU: not in a run that is nearly over (a
                // short run's time goes to the jobs users wait for).
                if budget.deadline.saturating_duration_since(Instant::now()) < crate::dictionaries::TRAINING_TIME {
                    return Ok(Outcome::Waiting);
                }
                self.train_dictionary(&job).await?;
                return Ok(if self.delete_job(&job).await? { Outcome::Done } else { Outcome::Superseded });
            }
            JobKind::Retention => self.retention_pass(&mut job, budget).await?,
            JobKind::Group => self.reclaim_group(&job, budget).await?,
            JobKind::Stream => self.reclaim_stream(&job, budget).await?,
            // It writes to S3: the worker hands it to its exporter instead.
            JobKind::Export | JobKind::Trail => {
                return Err(ApiError::internal(format!("a {} job reached run_job", job.kind.as_str())));
            }
        };
        if !finished {
            return Ok(if self.save_job(&job).await? { Outcome::Paused } else { Outcome::Superseded });
        }
        if job.pass_started.is_some_and(|p| p >= job.changed + settle_ms) {
            return Ok(if self.delete_job(&job).await? { Outcome::Done } else { Outcome::Superseded });
        }
        job.passes += 1;
        job.pass_started = None;
        job.cursor_stream = None;
        job.cursor_chunk = None;
        job.active_phase = false;
        Ok(if self.save_job(&job).await? { Outcome::Settling } else { Outcome::Superseded })
    }

    /// Writes the job's progress unless it was queued again meanwhile. False when superseded.
    async fn save_job(&self, job: &Job) -> Result<bool, ApiError> {
        Ok(self.db().put(job.item()?, Some(job.same_generation())).await? == Write::Done)
    }

    /// Removes a finished job unless it was queued again meanwhile. False when superseded.
    pub async fn delete_job(&self, job: &Job) -> Result<bool, ApiError> {
        Ok(self.db().delete(&job.key(), Some(job.same_generation())).await? == Write::Done)
    }

    /// One retention pass from the job's cursor: true when every chunk and active-hour item of
    /// the group has the TTL its current retention gives, false when the budget ran out first
    /// (the cursor moved).
    async fn retention_pass(&self, job: &mut Job, budget: &mut Budget) -> Result<bool, ApiError> {
        let id = job.identity();
        let group: Option<LogGroup> = self.get_group(&id, job.group_name.as_deref().unwrap_or_default()).await?;
        // Deleted (or deleted and re-created): its reclaim job owns what is left.
        let Some(group) = group.filter(|g| g.id == job.resource) else {
            return Ok(true);
        };
        if !job.active_phase {
            if !self.retention_streams(&id, &group, job, budget).await? {
                return Ok(false);
            }
            job.active_phase = true;
            job.cursor_stream = None;
            job.cursor_chunk = None;
        }
        let active = keys::active(&id, &group.id);
        self.retention_partition(&active, group.retention_in_days, job, budget).await
    }

    /// The chunks of every stream from the job's cursor. False when the budget ran out first.
    async fn retention_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        job: &mut Job,
        budget: &mut Budget,
    ) -> Result<bool, ApiError> {
        let streams_pk = keys::streams(id, &group.id);
        loop {
            // A stream with a chunk cursor is still in progress; without one, it is done.
            let range = match (&job.cursor_stream, &job.cursor_chunk) {
                (Some(name), Some(_)) => Range::From(name.clone()),
                (Some(name), None) => Range::After(name.clone()),
                (None, _) => Range::All,
            };
            let q = Query::new(&streams_pk).range(range).project("sk, id").limit(SWEEP_PAGE);
            let page = self.db().page(&q).await?;
            if page.items.is_empty() {
                return Ok(true);
            }
            for item in &page.items {
                let (Some(name), Some(stream_id)) = (get_s(item, SK), get_s(item, attr::ID)) else {
                    continue;
                };
                if job.cursor_stream.as_deref() != Some(name) || job.cursor_chunk.is_none() {
                    job.cursor_stream = Some(name.to_owned());
                    // Every chunk's sort key sorts after "".
                    job.cursor_chunk = Some(String::new());
                }
                let chunks = keys::events(id, stream_id);
                if !self.retention_partition(&chunks, group.retention_in_days, job, budget).await? {
                    return Ok(false);
                }
                job.cursor_chunk = None;
            }
            if page.last.is_none() {
                return Ok(true);
            }
        }
    }

    /// Moves the TTLs of a partition's items (a stream's chunks, a group's active hours; each
    /// has `maxTs`) after the job's chunk cursor. False when the budget ran out first (the
    /// cursor names the last item done).
    async fn retention_partition(
        &self,
        pk: &str,
        retention: Option<i64>,
        job: &mut Job,
        budget: &mut Budget,
    ) -> Result<bool, ApiError> {
        loop {
            if budget.spent() {
                return Ok(false);
            }
            let range = match job.cursor_chunk.as_deref() {
                Some(sk) if !sk.is_empty() => Range::After(sk.to_owned()),
                _ => Range::All,
            };
            let q = Query::new(pk).range(range).project("sk, maxTs, expiresAt").limit(SWEEP_PAGE);
            let page = self.db().page(&q).await?;
            for item in &page.items {
                let Some(sk) = get_s(item, SK) else { continue };
                let want = get_n(item, attr::MAX_TS).and_then(|max| chunk_expiry(max, retention));
                if get_n(item, EXPIRES_AT) != want {
                    if budget.spent() {
                        return Ok(false);
                    }
                    self.set_expiry(&Key { pk: pk.to_owned(), sk: sk.to_owned() }, want).await?;
                    budget.writes = budget.writes.saturating_sub(1);
                }
                job.cursor_chunk = Some(sk.to_owned());
            }
            if page.last.is_none() {
                return Ok(true);
            }
        }
    }

    async fn set_expiry(&self, key: &Key, expires_at: Option<i64>) -> Result<(), ApiError> {
        let e = match expires_at {
            Some(e) => Expr::update("SET #e = :e").value(":e", n(e)),
            None => Expr::update("REMOVE #e"),
        };
        // Never resurrect a chunk DynamoDB or a reclaim deleted meanwhile.
        let e = e.name("#e", EXPIRES_AT).and_when("attribute_exists(pk)");
        // A failed condition means the item is gone: nothing to move.
        let _ = self.db().update(key, e).await?;
        Ok(())
    }

    /// Deletes everything a deleted group incarnation left: every [`GroupPart`] partition, the
    /// streams' own partitions ([`StreamPart`]) before each stream item. True when nothing is left.
    async fn reclaim_group(&self, job: &Job, budget: &mut Budget) -> Result<bool, ApiError> {
        let id = job.identity();
        for part in GroupPart::ALL {
            let pk = keys::group_part(&id, &job.resource, *part);
            let done = match part {
                GroupPart::Streams => self.reclaim_streams(&id, &pk, budget).await?,
                GroupPart::Subscriptions | GroupPart::Filters | GroupPart::Active | GroupPart::Dictionaries => {
                    self.delete_partition(&pk, budget).await?
                }
            };
            if !done {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Deletes each stream of a streams partition after its own partitions. True when empty.
    async fn reclaim_streams(&self, id: &Identity, streams_pk: &str, budget: &mut Budget) -> Result<bool, ApiError> {
        loop {
            let page = self.db().page(&Query::new(streams_pk).project("pk, sk, id").limit(25)).await?;
            if page.items.is_empty() {
                return Ok(true);
            }
            for item in &page.items {
                if let Some(stream_id) = get_s(item, attr::ID) {
                    for part in StreamPart::ALL {
                        if !self.delete_partition(&keys::stream_part(id, stream_id, *part), budget).await? {
                            return Ok(false);
                        }
                    }
                }
            }
            if !self.delete_keys(page.items, budget).await? {
                return Ok(false);
            }
        }
    }

    /// Deletes every part of a deleted stream incarnation. True when nothing is left.
    async fn reclaim_stream(&self, job: &Job, budget: &mut Budget) -> Result<bool, ApiError> {
        let id = job.identity();
        for part in StreamPart::ALL {
            if !self.delete_partition(&keys::stream_part(&id, &job.resource, *part), budget).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Deletes every item of a partition. True when it is empty.
    async fn delete_partition(&self, pk: &str, budget: &mut Budget) -> Result<bool, ApiError> {
        loop {
            if budget.spent() {
                return Ok(false);
            }
            let page = self.db().page(&Query::new(pk).project("pk, sk").limit(SWEEP_PAGE)).await?;
            if page.items.is_empty() {
                return Ok(true);
            }
            if !self.delete_keys(page.items, budget).await? {
                return Ok(false);
            }
        }
    }

    /// Deletes items by key, 25 per BatchWriteItem. False when the budget ran out first.
    async fn delete_keys(&self, keys: Vec<Item>, budget: &mut Budget) -> Result<bool, ApiError> {
        for batch in keys.chunks(crate::table::BATCH_WRITE_MAX) {
            if budget.spent() {
                return Ok(false);
            }
            self.db().batch_delete(batch.to_vec()).await?;
            budget.writes = budget.writes.saturating_sub(batch.len());
        }
        Ok(true)
    }
}
