//! Log stream items, under their group's immutable id; GSI1 orders them by last event time.

use logbook_model::logs::{
    DescribeLogStreams, GROUP_MISSING, LogGroup, LogStream, STREAM_EXISTS, STREAM_MISSING, StreamOrder,
};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::keys::{self, GSI1, GSI1_PK, GSI1_SK, Kind, NAME_BYTES, attr, prefix_part};
use crate::table::{Expr, Query, Range, Txn, Write, from_item, s, to_item};
use crate::{Store, lock};

/// Where a page of streams starts: after this stream, in the listing's order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamCursor {
    pub name: String,
    /// The stream's last event time when the page was ordered by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<i64>,
}

impl logbook_model::token::Cursor for StreamCursor {
    fn in_range(&self) -> bool {
        use logbook_model::validate::{NAME_MAX, is_stream_name};
        let name_ok = !self.name.is_empty() && self.name.chars().count() <= NAME_MAX && is_stream_name(&self.name);
        name_ok && self.last_event.is_none_or(|t| (0..=keys::TIME_MAX).contains(&t))
    }
}

/// Group ids a warm instance remembers before it forgets them all.
const GROUP_ID_CACHE_MAX: usize = 10_000;

impl Store {
    pub async fn create_stream(&self, id: &Identity, group: &LogGroup, stream: &LogStream) -> Result<(), ApiError> {
        let key = keys::stream(id, &group.id, &stream.name);
        let mut item = to_item(stream)?;
        item.insert(GSI1_PK.into(), s(&key.pk));
        item.insert(GSI1_SK.into(), s(keys::stream_by_time(stream.last_event_timestamp, &stream.name)));
        item.extend(key.item());
        item.extend([Kind::Stream.attribute()]);
        match self.db().put(item, Some(Expr::absent())).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(ApiError::new(ErrorCode::ResourceAlreadyExistsException, STREAM_EXISTS)),
        }
    }

    pub async fn get_stream(&self, id: &Identity, group: &LogGroup, name: &str) -> Result<Option<LogStream>, ApiError> {
        self.db().get(&keys::stream(id, &group.id, name)).await
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
        let known = lock(&self.group_ids).get(&cache_key).cloned();
        if let Some(gid) = known {
            let stream_key = keys::stream(id, &gid, stream_name);
            let mut group = None;
            let mut stream = None;
            for item in self.db().batch_get(&[group_key.clone(), stream_key], true).await? {
                if group_key.is(&item) {
                    group = Some(from_item::<LogGroup>(item)?);
                } else {
                    stream = Some(from_item::<LogStream>(item)?);
                }
            }
            match group {
                Some(g) if g.id == gid => {
                    return Ok((g, stream.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?));
                }
                None => {
                    lock(&self.group_ids).remove(&cache_key);
                    return Err(ApiError::not_found(GROUP_MISSING));
                }
                // Re-created under a new id since: read the stream under that one.
                Some(_) => {}
            }
        }
        let group = self.require_group(id, group_name).await?;
        {
            let mut ids = lock(&self.group_ids);
            if ids.len() > GROUP_ID_CACHE_MAX {
                ids.clear();
            }
            ids.insert(cache_key, group.id.clone());
        }
        let stream =
            self.get_stream(id, &group, stream_name).await?.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?;
        Ok((group, stream))
    }

    /// Removes the stream (its events, keyed by the stream's id, become unreachable) and leaves a
    /// reclaim job for the worker, in one transaction.
    pub async fn delete_stream(&self, id: &Identity, group: &LogGroup, name: &str) -> Result<(), ApiError> {
        let stream = self.get_stream(id, group, name).await?.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?;
        let same = Expr::when("#id = :sid").name("#id", attr::ID).value(":sid", s(&stream.id));
        let t = self.db();
        let items = vec![
            t.txn_delete(&keys::stream(id, &group.id, name), Some(same))?,
            self.job_put(id, crate::work::JobKind::Stream, &stream.id, None)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => Err(ApiError::not_found(STREAM_MISSING)),
        }
    }

    /// A page of the group's streams after `after`, and whether more follow.
    pub async fn list_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        query: &DescribeLogStreams,
        after: Option<&StreamCursor>,
    ) -> Result<(Vec<LogStream>, bool), ApiError> {
        let pk = keys::streams(id, &group.id);
        let q = match query.order {
            StreamOrder::LogStreamName => {
                let range = query
                    .prefix
                    .as_deref()
                    .map_or(Range::All, |p| Range::Prefix(prefix_part(p, NAME_BYTES).0.to_owned()));
                let start = after.map(|c| keys::stream(id, &group.id, &c.name).item());
                Query::new(pk).range(range).after(start)
            }
            StreamOrder::LastEventTime => {
                let start = after.map(|c| {
                    let key = keys::stream(id, &group.id, &c.name);
                    let mut start = key.item();
                    start.insert(GSI1_PK.into(), s(&key.pk));
                    start.insert(GSI1_SK.into(), s(keys::stream_by_time(c.last_event, &c.name)));
                    start
                });
                Query::new(pk).index(GSI1).after(start)
            }
        };
        let (mut streams, more): (Vec<LogStream>, bool) =
            self.db().listing(q.backward(query.descending), query.limit).await?;
        // A prefix longer than a hashed key keeps matched on its head: check the whole of it.
        if let Some(p) = query.prefix.as_deref() {
            streams.retain(|s| s.name.starts_with(p));
        }
        Ok((streams, more))
    }

    /// Every stream of the group (by name, optionally with a prefix), at most `max`.
    pub async fn all_streams(
        &self,
        id: &Identity,
        group: &LogGroup,
        prefix: Option<&str>,
        max: usize,
    ) -> Result<Vec<LogStream>, ApiError> {
        let range = prefix.map_or(Range::All, |p| Range::Prefix(prefix_part(p, NAME_BYTES).0.to_owned()));
        let items = self.db().all(Query::new(keys::streams(id, &group.id)).range(range), max).await?;
        let mut streams = items.into_iter().map(from_item).collect::<Result<Vec<LogStream>, _>>()?;
        if let Some(p) = prefix {
            streams.retain(|s| s.name.starts_with(p));
        }
        Ok(streams)
    }
}
