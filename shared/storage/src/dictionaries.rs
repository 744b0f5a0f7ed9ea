//! Per-group zstd dictionaries: what makes the short batches shippers send cheap to store.
//!
//! A chunk of 100 lines compresses poorly on its own: zstd first has to learn the lines' shape
//! from the chunk itself. A dictionary trained on the group's own earlier chunks carries that
//! shape (on the bench's corpora, 100 lines: 2.9 → 2.3 KB high-entropy, 1.9 → 0.8 KB web access),
//! and every KB saved is a write unit.
//!
//! - **When**: a PutLogEvents instance that has written [`TRAIN_AFTER`] raw bytes to a group
//!   without a dictionary queues a `dictionary` job (once per instance and group).
//! - **Trained** by the worker from up to [`SAMPLE_BYTES`] of the group's newest chunks; stored as
//!   an item of the group's `dicts` partition under a new id, then named on the group item
//!   (conditionally on the same incarnation and no dictionary yet).
//! - **Used**: the writer reads the group item anyway; a chunk compressed with a dictionary names
//!   it (`dict`), so every reader finds the dictionary it needs, cached by key per instance (a
//!   dictionary item never changes). Reclaimed with the group's other partitions.

use std::sync::Arc;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::events::Event;
use logbook_model::logs::{LogGroup, LogStream};
use logbook_protocol::{ApiError, Identity};

use crate::events::Dictionary;
use crate::groups::same_incarnation;
use crate::keys::{self, Key, Kind, attr};
use crate::table::{Expr, Query, from_item, get_s, s};
use crate::work::{Job, JobKind};
use crate::{Item, Store, lock};

/// Raw message bytes one instance writes to a group before it asks for a dictionary: enough
/// that the group is busy and its chunks make a sample worth training on.
pub const TRAIN_AFTER: u64 = 1 << 20;
/// Raw bytes of the newest chunks a dictionary is trained on.
pub const SAMPLE_BYTES: usize = 4 << 20;
/// A dictionary's largest size (64 KB: the best of 4, 16 and 64 KB on the bench's corpora; one
/// item, read once per cold instance).
pub const DICTIONARY_BYTES: usize = 64 * 1024;
/// The time left in a worker run for it to take a training job.
pub const TRAINING_TIME: std::time::Duration = std::time::Duration::from_secs(5);
/// Dictionaries an instance keeps before it forgets them all.
const CACHE_MAX: usize = 256;
/// Streams and chunks per stream looked at for samples.
const SAMPLE_STREAMS: usize = 50;
const SAMPLE_CHUNKS: usize = 200;

impl Store {
    /// The dictionary at `key`, from this instance's cache or read once.
    pub(crate) async fn dictionary_at(&self, key: &Key) -> Result<Arc<Dictionary>, ApiError> {
        let cache_key = format!("{}\n{}", key.pk, key.sk);
        if let Some(d) = lock(&self.dictionaries).get(&cache_key) {
            return Ok(d.clone());
        }
        let item = self.db().get_item(key).await?.ok_or_else(|| ApiError::internal("missing chunk dictionary"))?;
        let bytes = match item.get(attr::DATA) {
            Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
            _ => return Err(ApiError::internal("dictionary without data")),
        };
        let dictionary = Dictionary::new(key.sk.clone(), bytes);
        let mut cache = lock(&self.dictionaries);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(cache_key, dictionary.clone());
        Ok(dictionary)
    }

    /// The dictionary new chunks of `group` are compressed with, if it has one.
    pub(crate) async fn group_dictionary(
        &self,
        id: &Identity,
        group: &LogGroup,
    ) -> Result<Option<Arc<Dictionary>>, ApiError> {
        match &group.dictionary {
            Some(d) => Ok(Some(self.dictionary_at(&keys::dictionary(id, &group.id, d)).await?)),
            None => Ok(None),
        }
    }

    /// The dictionary a stored chunk names, if any.
    pub(crate) async fn chunk_dictionary(
        &self,
        chunk_pk: &str,
        item: &Item,
    ) -> Result<Option<Arc<Dictionary>>, ApiError> {
        let Some(dictionary) = get_s(item, attr::DICTIONARY) else { return Ok(None) };
        let group = get_s(item, attr::CHUNK_GROUP_ID).unwrap_or_default();
        let key = keys::chunk_dictionary(chunk_pk, group, dictionary)
            .ok_or_else(|| ApiError::internal("chunk dictionary without a key"))?;
        Ok(Some(self.dictionary_at(&key).await?))
    }

    /// Counts what this instance wrote to a group without a dictionary and, the first time it
    /// passes [`TRAIN_AFTER`], queues the job that trains one. Best effort: the events are
    /// stored already, and a later instance asks again.
    pub(crate) async fn note_written(&self, id: &Identity, group: &LogGroup, raw_bytes: usize) {
        if group.dictionary.is_some() {
            return;
        }
        let crossed = {
            let mut written = lock(&self.group_written);
            if written.len() >= CACHE_MAX * 16 {
                written.clear();
            }
            let total = written.entry(group.id.clone()).or_default();
            let before = *total;
            *total += raw_bytes as u64;
            before < TRAIN_AFTER && *total >= TRAIN_AFTER
        };
        if crossed {
            let _ = self.queue_job(id, JobKind::Dictionary, &group.id, Some(&group.name)).await;
        }
    }

    /// The worker's dictionary job: trains on the group's newest chunks and names the result on
    /// the group. Nothing to do for a deleted group or one that has a dictionary.
    pub(crate) async fn train_dictionary(&self, job: &Job) -> Result<(), ApiError> {
        let id = job.identity();
        let group = self.get_group(&id, job.group_name.as_deref().unwrap_or_default()).await?;
        let Some(group) = group.filter(|g| g.id == job.resource && g.dictionary.is_none()) else {
            return Ok(());
        };
        let samples = self.dictionary_samples(&id, &group).await?;
        // 10 characters of a ULID's randomness: unique within a group, few bytes on every chunk.
        let dictionary_id = ulid::Ulid::new().to_string()[16..].to_owned();
        let Some(dictionary) = Dictionary::train(dictionary_id.clone(), &samples, DICTIONARY_BYTES) else {
            return Ok(());
        };
        let key = keys::dictionary(&id, &group.id, &dictionary_id);
        let mut item = key.item();
        item.extend([Kind::Dictionary.attribute()]);
        item.insert(attr::DATA.into(), AttributeValue::B(Blob::new(dictionary.bytes())));
        // Unconditional: the id is new.
        let _ = self.db().put(item, None).await?;
        // Named on the group only once stored: a writer that sees the name finds the item.
        let change = Expr::update("SET #dict = :dict")
            .name("#dict", attr::DICTIONARY)
            .value(":dict", s(&dictionary_id))
            .merge(same_incarnation(&group))
            .and_when("attribute_not_exists(#dict)");
        // A condition failure: the group was deleted, or got a dictionary from another run; the
        // unnamed item goes with the group's other partitions.
        let _ = self.db().update(&keys::group(&id, &group.name), change).await?;
        Ok(())
    }

    /// The events of the group's newest chunks, up to [`SAMPLE_BYTES`], newest streams first.
    async fn dictionary_samples(&self, id: &Identity, group: &LogGroup) -> Result<Vec<Vec<Event>>, ApiError> {
        let mut streams: Vec<LogStream> = self
            .db()
            .all(Query::new(keys::streams(id, &group.id)), usize::MAX)
            .await?
            .into_iter()
            .filter_map(|i| from_item(i).ok())
            .collect();
        streams.sort_by_key(|s| std::cmp::Reverse(s.last_ingestion_time.unwrap_or(s.creation_time)));
        let mut samples = Vec::new();
        let mut bytes = 0;
        for stream in streams.iter().take(SAMPLE_STREAMS) {
            let q = Query::new(keys::events(id, &stream.id)).backward(true).limit(SAMPLE_CHUNKS);
            let page = self.db().page(&q).await?;
            for item in page.items.into_iter().filter(|i| Kind::Chunk.is(i)) {
                let events: Vec<Event> = self
                    .chunk_events(item)
                    .await?
                    .into_iter()
                    .map(|(pos, message)| Event { timestamp: pos.ts, message })
                    .collect();
                bytes += events.iter().map(|e| e.message.len()).sum::<usize>();
                samples.push(events);
                if bytes >= SAMPLE_BYTES {
                    return Ok(samples);
                }
            }
        }
        Ok(samples)
    }
}
