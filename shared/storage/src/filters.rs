//! Metric filter items, under their group's immutable id. The group's `metricFilterCount` moves
//! with each create and delete in one transaction, so it stays exact under concurrency and the
//! 100-per-group limit holds. GSI1 lists the account's filters, GSI2 a metric's.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use logbook_model::logs::{GROUP_MISSING, LogGroup};
use logbook_model::metric::{FILTER_MISSING, MAX_FILTERS_PER_GROUP, MetricFilter};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::keys::{self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK};
use crate::{Item, Store, condition_failed, from_item, internal, n, s, to_item};

/// Where a page of metric filters starts: after this filter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilterCursor {
    pub filter: String,
    pub group: String,
    pub group_id: String,
}

impl Store {
    fn filter_item(&self, id: &Identity, group: &LogGroup, f: &MetricFilter) -> Result<Item, ApiError> {
        let mut item = to_item(f)?;
        item.extend(keys::filter(id, &group.id, &f.filter_name).item());
        item.insert("type".into(), s("metricFilter"));
        item.insert("groupId".into(), s(&group.id));
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
        let item = self.filter_item(id, group, f)?;
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(internal)?;
        let count = Update::builder()
            .table_name(self.table())
            .set_key(Some(keys::group(id, &group.name).item()))
            .update_expression("ADD metricFilterCount :one")
            .condition_expression("id = :gid AND (attribute_not_exists(metricFilterCount) OR metricFilterCount < :max)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":gid", s(&group.id))
            .expression_attribute_values(":max", n(MAX_FILTERS_PER_GROUP))
            .build()
            .map_err(internal)?;
        let items = [TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(count).build()];
        match self.transact_raw(&items).await? {
            None => Ok(()),
            Some(0) => self.replace_metric_filter(id, group, f).await,
            Some(_) => match self.get_group(id, &group.name).await? {
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
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(self.filter_item(id, group, &f)?))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Deleted between our two writes: create it afresh.
            Err(e) if condition_failed(&e) => Box::pin(self.put_metric_filter(id, group, &f)).await,
            Err(e) => Err(internal(e)),
        }
    }

    pub async fn get_metric_filter(
        &self,
        id: &Identity,
        group: &LogGroup,
        name: &str,
    ) -> Result<Option<MetricFilter>, ApiError> {
        self.get(keys::filter(id, &group.id, name)).await
    }

    pub async fn delete_metric_filter(&self, id: &Identity, group: &LogGroup, name: &str) -> Result<(), ApiError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(keys::filter(id, &group.id, name).item()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(internal)?;
        let count = self.decrement(keys::group(id, &group.name), "metricFilterCount", Some(&group.id))?;
        let items = [TransactWriteItem::builder().delete(delete).build(), count];
        self.transact(&items, |i| {
            if i == 0 { ApiError::not_found(FILTER_MISSING) } else { ApiError::not_found(GROUP_MISSING) }
        })
        .await
    }

    /// Every filter of a group (at most 100), in name order.
    pub async fn group_metric_filters(&self, id: &Identity, group: &LogGroup) -> Result<Vec<MetricFilter>, ApiError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::filters(id, &group.id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(internal)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
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
        let mut q = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(index)
            .key_condition_expression(format!("{pk_name} = :pk"))
            .expression_attribute_values(":pk", s(&pk))
            .limit(limit as i32 + 1);
        if let Some(c) = after {
            let mut start = keys::filter(id, &c.group_id, &c.filter).item();
            start.insert(pk_name.into(), s(&pk));
            start.insert(sk_name.into(), s(keys::filter_across_groups(&c.filter, &c.group)));
            q = q.set_exclusive_start_key(Some(start));
        }
        let out = q.send().await.map_err(internal)?;
        let mut found = Vec::new();
        for item in out.items.unwrap_or_default() {
            let group_id = match item.get("groupId") {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(g)) => g.clone(),
                _ => String::new(),
            };
            found.push((from_item::<MetricFilter>(item)?, group_id));
        }
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }
}
