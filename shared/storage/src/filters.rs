//! Metric filter items, under their group's immutable id. The group's `metricFilterCount` moves
//! with each create and delete in one transaction, so it stays exact under concurrency and the
//! 100-per-group limit holds. GSI1 lists the account's filters, GSI2 a metric's.

use logbook_model::logs::{GROUP_MISSING, LogGroup};
use logbook_model::metric::{FILTER_MISSING, MAX_FILTERS_PER_GROUP, MetricFilter};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::groups::same_incarnation;
use crate::keys::{self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, Kind, attr};
use crate::table::{Expr, Query, Txn, Write, from_item, get_s, n, s, to_item};
use crate::{Item, Store};

/// Where a page of metric filters starts: after this filter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilterCursor {
    pub filter: String,
    pub group: String,
    pub group_id: String,
}

impl logbook_model::token::Cursor for FilterCursor {
    fn in_range(&self) -> bool {
        use logbook_model::validate::{NAME_MAX, is_group_name, is_stream_name};
        let filter_ok =
            !self.filter.is_empty() && self.filter.chars().count() <= NAME_MAX && is_stream_name(&self.filter);
        let group_ok = self.group.chars().count() <= NAME_MAX && is_group_name(&self.group);
        filter_ok && group_ok && crate::is_id(&self.group_id, 32)
    }
}

impl Store {
    fn filter_item(&self, id: &Identity, group: &LogGroup, f: &MetricFilter) -> Result<Item, ApiError> {
        let mut item = to_item(f)?;
        item.extend(keys::filter(id, &group.id, &f.filter_name).item());
        item.extend([Kind::MetricFilter.attribute()]);
        item.insert(attr::GROUP_ID.into(), s(&group.id));
        let across = keys::filter_across_groups(&f.filter_name, &group.name);
        item.insert(GSI1_PK.into(), s(keys::account_filters(id)));
        item.insert(GSI1_SK.into(), s(&across));
        if let Some(t) = f.metric_transformations.first() {
            item.insert(GSI2_PK.into(), s(keys::metric_filters(id, &t.metric_namespace, &t.metric_name)));
            item.insert(GSI2_SK.into(), s(&across));
        }
        Ok(item)
    }

    /// Creates the filter, or replaces the one of that name (keeping its creation time).
    pub async fn put_metric_filter(&self, id: &Identity, group: &LogGroup, f: &MetricFilter) -> Result<(), ApiError> {
        let t = self.db();
        let count = Expr::update("ADD #c :one")
            .and_when("attribute_not_exists(#c) OR #c < :max")
            .name("#c", attr::METRIC_FILTER_COUNT)
            .value(":one", n(1))
            .value(":max", n(MAX_FILTERS_PER_GROUP))
            .merge(same_incarnation(group));
        let items = vec![
            t.txn_put(self.filter_item(id, group, f)?, Some(Expr::absent()))?,
            t.txn_update(&keys::group(id, &group.name), count)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(0) => self.replace_metric_filter(id, group, f).await,
            Txn::ConditionFailed(_) => match self.get_group(id, &group.name).await? {
                Some(g) if g.id == group.id => Err(ApiError::new(
                    ErrorCode::LimitExceededException,
                    format!(
                        "Resource limit exceeded: a log group can have at most {MAX_FILTERS_PER_GROUP} metric filters."
                    ),
                )),
                _ => Err(ApiError::not_found(GROUP_MISSING)),
            },
        }
    }

    async fn replace_metric_filter(&self, id: &Identity, group: &LogGroup, f: &MetricFilter) -> Result<(), ApiError> {
        let existing = self.get_metric_filter(id, group, &f.filter_name).await?;
        let mut f = f.clone();
        if let Some(old) = existing {
            f.creation_time = old.creation_time;
        }
        match self.db().put(self.filter_item(id, group, &f)?, Some(Expr::present())).await? {
            Write::Done => Ok(()),
            // Deleted between our two writes: create it afresh.
            Write::ConditionFailed => Box::pin(self.put_metric_filter(id, group, &f)).await,
        }
    }

    pub async fn get_metric_filter(
        &self,
        id: &Identity,
        group: &LogGroup,
        name: &str,
    ) -> Result<Option<MetricFilter>, ApiError> {
        self.db().get(&keys::filter(id, &group.id, name)).await
    }

    pub async fn delete_metric_filter(&self, id: &Identity, group: &LogGroup, name: &str) -> Result<(), ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_delete(&keys::filter(id, &group.id, name), Some(Expr::present()))?,
            t.txn_decrement(&keys::group(id, &group.name), attr::METRIC_FILTER_COUNT, Some(&group.id))?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(0) => Err(ApiError::not_found(FILTER_MISSING)),
            Txn::ConditionFailed(_) => Err(ApiError::not_found(GROUP_MISSING)),
        }
    }

    /// Every filter of a group (at most 100), in name order.
    pub async fn group_metric_filters(&self, id: &Identity, group: &LogGroup) -> Result<Vec<MetricFilter>, ApiError> {
        self.metric_filters_of(id, &group.id).await
    }

    /// Every filter of the group with this id (the fan-out knows chunks' groups by id).
    pub async fn metric_filters_of(&self, id: &Identity, group_id: &str) -> Result<Vec<MetricFilter>, ApiError> {
        let items = self.db().all(Query::new(keys::filters(id, group_id)), usize::MAX).await?;
        items.into_iter().map(from_item).collect()
    }

    /// A page of the account's filters (or one metric's), in filter-name order, after `after`.
    pub async fn list_metric_filters(
        &self,
        id: &Identity,
        metric: Option<(&str, &str)>,
        after: Option<&FilterCursor>,
        limit: usize,
    ) -> Result<(Vec<(MetricFilter, String)>, bool), ApiError> {
        let (index, pk_name, sk_name, pk) = match metric {
            Some((ns, name)) => (GSI2, GSI2_PK, GSI2_SK, keys::metric_filters(id, ns, name)),
            None => (GSI1, GSI1_PK, GSI1_SK, keys::account_filters(id)),
        };
        let start = after.map(|c| {
            let mut start = keys::filter(id, &c.group_id, &c.filter).item();
            start.insert(pk_name.into(), s(&pk));
            start.insert(sk_name.into(), s(keys::filter_across_groups(&c.filter, &c.group)));
            start
        });
        let page = self.db().page(&Query::new(pk).index(index).after(start).limit(limit + 1)).await?;
        let mut found = Vec::new();
        for item in page.items {
            let group_id = get_s(&item, attr::GROUP_ID).unwrap_or_default().to_owned();
            found.push((from_item::<MetricFilter>(item)?, group_id));
        }
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }
}
