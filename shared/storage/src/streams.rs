//! Log stream items, under their group's immutable id; GSI1 orders them by last event time.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, TransactWriteItem};
use logbook_model::logs::{
    DescribeLogStreams, GROUP_MISSING, LogGroup, LogStream, STREAM_EXISTS, STREAM_MISSING, StreamOrder,
};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::keys::{self, GSI1, GSI1_PK, GSI1_SK};
use crate::{Store, condition_failed, from_item, internal, s, to_item};

/// Where a page of streams starts: after this stream, in the listing's order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamCursor {
    pub name: String,
    /// The stream's last event time when the page was ordered by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<i64>,
}

impl Store {
    pub async fn create_stream(&self, id: &Identity, group: &LogGroup, stream: &LogStream) -> Result<(), ApiError> {
        let key = keys::stream(id, &group.id, &stream.name);
        let mut item = to_item(stream)?;
        item.insert(GSI1_PK.into(), s(&key.pk));
        item.insert(GSI1_SK.into(), s(keys::stream_by_time(stream.last_event_timestamp, &stream.name)));
        item.extend(key.item());
        item.insert("type".into(), s("stream"));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => {
                Err(ApiError::new(ErrorCode::ResourceAlreadyExistsException, STREAM_EXISTS))
            }
            Err(e) => Err(internal(e)),
        }
    }

    pub async fn get_stream(&self, id: &Identity, group: &LogGroup, name: &str) -> Result<Option<LogStream>, ApiError> {
        self.get(keys::stream(id, &group.id, name)).await
    }

    /// The group and the stream, or AWS's `ResourceNotFoundException` for whichever is missing.
    /// Once this instance knows the group's id, both are read in one strongly consistent
    /// BatchGetItem (one round trip instead of two, on every PutLogEvents); the group read with
    /// it confirms the id, so a deleted or re-created group is never missed.
    pub async fn group_and_stream(
        &self,
        id: &Identity,
        group_name: &str,
        stream_name: &str,
    ) -> Result<(LogGroup, LogStream), ApiError> {
        let group_key = keys::group(id, group_name);
        let cache_key = format!("{}\n{}", group_key.pk, group_key.sk);
        let known = self.group_ids.lock().unwrap_or_else(|e| e.into_inner()).get(&cache_key).cloned();
        if let Some(gid) = known {
            let stream_key = keys::stream(id, &gid, stream_name);
            let keys = KeysAndAttributes::builder()
                .keys(group_key.item())
                .keys(stream_key.item())
                .consistent_read(true)
                .build()
                .map_err(internal)?;
            let out = self
                .client()
                .batch_get_item()
                .request_items(self.table(), keys)
                .set_return_consumed_capacity(self.wants_capacity())
                .send()
                .await
                .map_err(internal)?;
            for c in out.consumed_capacity() {
                self.count(false, Some(c));
            }
            // Throttled keys come back unprocessed: the two plain reads below then.
            let unprocessed = out.unprocessed_keys().is_some_and(|u| !u.is_empty());
            if !unprocessed {
                let mut group = None;
                let mut stream = None;
                for item in out.responses.and_then(|mut r| r.remove(self.table())).unwrap_or_default() {
                    match item.get(keys::SK) {
                        Some(AttributeValue::S(sk))
                            if *sk == group_key.sk && item.get(keys::PK) == Some(&s(&group_key.pk)) =>
                        {
                            group = Some(from_item::<LogGroup>(item)?)
                        }
                        _ => stream = Some(from_item::<LogStream>(item)?),
                    }
                }
                match group {
                    Some(g) if g.id == gid => {
                        return Ok((g, stream.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?));
                    }
                    None => {
                        self.group_ids.lock().unwrap_or_else(|e| e.into_inner()).remove(&cache_key);
                        return Err(ApiError::not_found(GROUP_MISSING));
                    }
                    // Re-created under a new id since: read the stream under that one.
                    Some(_) => {}
                }
            }
        }
        let group = self.get_group(id, group_name).await?.ok_or_else(|| ApiError::not_found(GROUP_MISSING))?;
        {
            let mut ids = self.group_ids.lock().unwrap_or_else(|e| e.into_inner());
            if ids.len() > 10_000 {
                ids.clear();
            }
            ids.insert(cache_key, group.id.clone());
        }
        let stream =
            self.get_stream(id, &group, stream_name).await?.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?;
        Ok((group, stream))
    }

    /// Removes the stream (its events, keyed by the stream's id, become unreachable) and leaves a
    /// reclaim marker for the sweeper, in one transaction.
    pub async fn delete_stream(&self, id: &Identity, group: &LogGroup, name: &str) -> Result<(), ApiError> {
        let stream = self.get_stream(id, group, name).await?.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?;
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(keys::stream(id, &group.id, name).item()))
            .condition_expression("id = :id")
            .expression_attribute_values(":id", s(&stream.id))
            .build()
            .map_err(internal)?;
        let items = [
            TransactWriteItem::builder().delete(delete).build(),
            self.job_put(id, crate::work::JobKind::Stream, &stream.id, None)?,
        ];
        self.transact(&items, |_| ApiError::not_found(STREAM_MISSING)).await
    }

    /// A page of the group's streams after `after`, and whether more follow.
    pub async fn list_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        query: &DescribeLogStreams,
        after: Option<&StreamCursor>,
    ) -> Result<(Vec<LogStream>, bool), ApiError> {
        let (order, descending, prefix, limit) = (query.order, query.descending, query.prefix.as_deref(), query.limit);
        let pk = keys::streams(id, &group.id);
        let mut q = self
            .client()
            .query()
            .table_name(self.table())
            .scan_index_forward(!descending)
            .expression_attribute_values(":pk", s(&pk))
            .limit(limit as i32 + 1);
        match order {
            StreamOrder::LogStreamName => {
                q = q.consistent_read(true);
                q = match prefix {
                    Some(p) => q
                        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                        .expression_attribute_values(":prefix", s(p)),
                    None => q.key_condition_expression("pk = :pk"),
                };
                if let Some(c) = after {
                    q = q.set_exclusive_start_key(Some(keys::stream(id, &group.id, &c.name).item()));
                }
            }
            StreamOrder::LastEventTime => {
                q = q.index_name(GSI1).key_condition_expression("gsi1pk = :pk");
                if let Some(c) = after {
                    let key = keys::stream(id, &group.id, &c.name);
                    let mut start = key.item();
                    start.insert(GSI1_PK.into(), s(&key.pk));
                    start.insert(GSI1_SK.into(), s(keys::stream_by_time(c.last_event, &c.name)));
                    q = q.set_exclusive_start_key(Some(start));
                }
            }
        }
        let out = q.send().await.map_err(internal)?;
        crate::page(out.items, limit)
    }

    /// Every stream of the group (by name, optionally with a prefix), at most `max`.
    pub async fn all_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        prefix: Option<&str>,
        max: usize,
    ) -> Result<Vec<LogStream>, ApiError> {
        let mut out: Vec<LogStream> = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client()
                .query()
                .table_name(self.table())
                .expression_attribute_values(":pk", s(keys::streams(id, &group.id)))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            q = match prefix {
                Some(p) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(p)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let page = q.send().await.map_err(internal)?;
            for item in page.items.unwrap_or_default() {
                out.push(from_item(item)?);
                if out.len() >= max {
                    return Ok(out);
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}
