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

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, Put, TransactWriteItem, WriteRequest};
use logbook_model::logs::LogGroup;
use logbook_protocol::{ApiError, Identity};
use serde::{Deserialize, Serialize};

use crate::events::chunk_expiry;
use crate::keys::{self, EXPIRES_AT, PK, SK};
use crate::{Item, Store, condition_failed, from_item, internal, n, s, to_item};

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
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Retention => "retention",
            JobKind::Group => "group",
            JobKind::Stream => "stream",
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
    fn identity(&self) -> Identity {
        Identity { account_id: self.account.clone(), region: self.region.clone(), access_key_id: None, user_name: None }
    }

    fn key(&self) -> keys::Key {
        keys::work(&self.identity(), self.kind.as_str(), &self.resource)
    }

    fn item(&self) -> Result<Item, ApiError> {
        let mut item = to_item(self)?;
        item.extend(self.key().item());
        item.insert("type".into(), s("job"));
        Ok(item)
    }
}

/// A write conditional on the job's generation: false when the job was queued again meanwhile.
fn unless_superseded<T, E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<bool, ApiError> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(internal(e)),
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
const SWEEP_PAGE: i32 = 100;

impl Store {
    /// The transaction item that queues a job (replacing a queued one for the same resource).
    pub(crate) fn job_put(
        &self,
        id: &Identity,
        kind: JobKind,
        resource: &str,
        group_name: Option<&str>,
    ) -> Result<TransactWriteItem, ApiError> {
        let job = Job {
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
        };
        let put = Put::builder().table_name(self.table()).set_item(Some(job.item()?)).build().map_err(internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Queued jobs, oldest resource first; only those of one account and region with `scope`.
    pub async fn jobs(&self, scope: Option<&Identity>) -> Result<Vec<Job>, ApiError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client()
                .query()
                .table_name(self.table())
                .consistent_read(true)
                .expression_attribute_values(":pk", s(keys::WORK))
                .set_exclusive_start_key(start.take());
            q = match scope {
                Some(id) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                    .expression_attribute_values(":p", s(keys::work_prefix(id))),
                None => q.key_condition_expression("pk = :pk"),
            };
            let page = q.send().await.map_err(internal)?;
            for item in page.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
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
            JobKind::Retention => self.retention_pass(&mut job, budget).await?,
            JobKind::Group => self.reclaim_group(&job, budget).await?,
            JobKind::Stream => {
                let id = job.identity();
                self.delete_partition(&keys::events(&id, &job.resource), budget).await?
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
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(job.item()?))
            .condition_expression("generation = :g")
            .expression_attribute_values(":g", s(&job.generation))
            .send()
            .await;
        unless_superseded(result)
    }

    async fn delete_job(&self, job: &Job) -> Result<bool, ApiError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(job.key().item()))
            .condition_expression("generation = :g")
            .expression_attribute_values(":g", s(&job.generation))
            .send()
            .await;
        unless_superseded(result)
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
            let mut q = self
                .client()
                .query()
                .table_name(self.table())
                .expression_attribute_values(":pk", s(&streams_pk))
                .projection_expression("sk, id")
                .limit(SWEEP_PAGE);
            // A stream with a chunk cursor is still in progress; without one, it is done.
            q = match (&job.cursor_stream, &job.cursor_chunk) {
                (Some(name), Some(_)) => {
                    q.key_condition_expression("pk = :pk AND sk >= :s").expression_attribute_values(":s", s(name))
                }
                (Some(name), None) => {
                    q.key_condition_expression("pk = :pk AND sk > :s").expression_attribute_values(":s", s(name))
                }
                (None, _) => q.key_condition_expression("pk = :pk"),
            };
            let page = q.send().await.map_err(internal)?;
            let items = page.items.unwrap_or_default();
            if items.is_empty() {
                return Ok(true);
            }
            for item in items {
                let (Some(AttributeValue::S(name)), Some(AttributeValue::S(stream_id))) =
                    (item.get(SK), item.get("id"))
                else {
                    continue;
                };
                if job.cursor_stream.as_deref() != Some(name) || job.cursor_chunk.is_none() {
                    job.cursor_stream = Some(name.clone());
                    // Every chunk's sort key sorts after "".
                    job.cursor_chunk = Some(String::new());
                }
                let chunks = keys::events(id, stream_id);
                if !self.retention_partition(&chunks, group.retention_in_days, job, budget).await? {
                    return Ok(false);
                }
                job.cursor_chunk = None;
            }
            if page.last_evaluated_key.is_none() {
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
            let mut q = self
                .client()
                .query()
                .table_name(self.table())
                .expression_attribute_values(":pk", s(pk))
                .projection_expression("sk, maxTs, expiresAt")
                .limit(SWEEP_PAGE);
            q = match job.cursor_chunk.as_deref() {
                Some(sk) if !sk.is_empty() => {
                    q.key_condition_expression("pk = :pk AND sk > :c").expression_attribute_values(":c", s(sk))
                }
                _ => q.key_condition_expression("pk = :pk"),
            };
            let page = q.send().await.map_err(internal)?;
            for item in page.items.unwrap_or_default() {
                let sk = match item.get(SK) {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    _ => continue,
                };
                let num = |k: &str| match item.get(k) {
                    Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
                    _ => None,
                };
                let want = num("maxTs").and_then(|max| chunk_expiry(max, retention));
                if num(EXPIRES_AT) != want {
                    if budget.spent() {
                        return Ok(false);
                    }
                    self.set_expiry(pk, &sk, want).await?;
                    budget.writes = budget.writes.saturating_sub(1);
                }
                job.cursor_chunk = Some(sk);
            }
            if page.last_evaluated_key.is_none() {
                return Ok(true);
            }
        }
    }

    async fn set_expiry(&self, pk: &str, sk: &str, expires_at: Option<i64>) -> Result<(), ApiError> {
        let key = Item::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))]);
        let mut u = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key))
            .expression_attribute_names("#e", EXPIRES_AT)
            // Never resurrect a chunk DynamoDB or a reclaim deleted meanwhile.
            .condition_expression("attribute_exists(pk)");
        u = match expires_at {
            Some(e) => u.update_expression("SET #e = :e").expression_attribute_values(":e", n(e)),
            None => u.update_expression("REMOVE #e"),
        };
        match u.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }

    /// Deletes a deleted group's streams (each after its chunks) and metric filters. True when
    /// nothing is left.
    async fn reclaim_group(&self, job: &Job, budget: &mut Budget) -> Result<bool, ApiError> {
        let id = job.identity();
        let streams_pk = keys::streams(&id, &job.resource);
        loop {
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(&streams_pk))
                .projection_expression("pk, sk, id")
                .limit(25)
                .send()
                .await
                .map_err(internal)?;
            let items = page.items.unwrap_or_default();
            if items.is_empty() {
                break;
            }
            let mut done = Vec::new();
            for item in items {
                if let Some(AttributeValue::S(stream_id)) = item.get("id")
                    && !self.delete_partition(&keys::events(&id, stream_id), budget).await?
                {
                    return Ok(false);
                }
                done.push(Item::from([(PK.to_owned(), item[PK].clone()), (SK.to_owned(), item[SK].clone())]));
            }
            if !self.delete_keys(done, budget).await? {
                return Ok(false);
            }
        }
        Ok(self.delete_partition(&keys::filters(&id, &job.resource), budget).await?
            && self.delete_partition(&keys::active(&id, &job.resource), budget).await?)
    }

    /// Deletes every item of a partition. True when it is empty.
    async fn delete_partition(&self, pk: &str, budget: &mut Budget) -> Result<bool, ApiError> {
        loop {
            if budget.spent() {
                return Ok(false);
            }
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .projection_expression("pk, sk")
                .limit(SWEEP_PAGE)
                .send()
                .await
                .map_err(internal)?;
            let keys = page.items.unwrap_or_default();
            if keys.is_empty() {
                return Ok(true);
            }
            if !self.delete_keys(keys, budget).await? {
                return Ok(false);
            }
        }
    }

    /// Deletes items by key, 25 per BatchWriteItem, retrying what DynamoDB leaves unprocessed.
    async fn delete_keys(&self, keys: Vec<Item>, budget: &mut Budget) -> Result<bool, ApiError> {
        for batch in keys.chunks(25) {
            if budget.spent() {
                return Ok(false);
            }
            let mut requests: Vec<WriteRequest> = batch
                .iter()
                .map(|k| {
                    let delete = DeleteRequest::builder().set_key(Some(k.clone())).build().map_err(internal)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, ApiError>>()?;
            let mut attempt = 0u32;
            while !requests.is_empty() {
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), requests)
                    .send()
                    .await
                    .map_err(internal)?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(self.table())).unwrap_or_default();
                attempt += 1;
                if !requests.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6))).await;
                }
            }
            budget.writes = budget.writes.saturating_sub(batch.len());
        }
        Ok(true)
    }
}
