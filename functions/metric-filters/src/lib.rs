//! The metric-filters action group: PutMetricFilter, DeleteMetricFilter, DescribeMetricFilters
//! and TestMetricFilter, all on the one filter-pattern crate.

use logbook_model::TokenCodec;
use logbook_model::logs::INFREQUENT_ACCESS;
use logbook_model::metric::{
    DeleteMetricFilterRequest, DescribeMetricFiltersRequest, PutMetricFilterRequest, TestMetricFilterRequest,
};
use logbook_model::token::with_next_token;
use logbook_protocol::{ApiError, Call, Dispatch, ops};
use logbook_storage::filters::FilterCursor;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct MetricFilters {
    pub store: Store,
    pub tokens: TokenCodec,
}

impl Dispatch for MetricFilters {
    type Op = ops::MetricFilters;

    async fn dispatch(&self, op: ops::MetricFilters, call: &Call) -> Result<Value, ApiError> {
        use ops::MetricFilters as Op;
        match op {
            Op::DeleteMetricFilter => self.delete_metric_filter(call).await,
            Op::DescribeMetricFilters => self.describe_metric_filters(call).await,
            Op::PutMetricFilter => self.put_metric_filter(call).await,
            Op::TestMetricFilter => call.decode::<TestMetricFilterRequest>()?.run(),
        }
    }
}

impl MetricFilters {
    async fn put_metric_filter(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let mut filter = call.decode::<PutMetricFilterRequest>()?.validate()?;
        let group = self.store.require_group(id, &filter.log_group_name).await?;
        // The Infrequent Access class does not extract metrics (AWS's log classes page).
        if group.class() == INFREQUENT_ACCESS {
            return Err(ApiError::invalid_parameter(
                "Metric filters are not supported for log groups in the INFREQUENT_ACCESS log class.",
            ));
        }
        filter.creation_time = now_millis();
        self.store.put_metric_filter(id, &group, &filter).await?;
        Ok(Value::Null)
    }

    async fn delete_metric_filter(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (group, name) = call.decode::<DeleteMetricFilterRequest>()?.validate()?;
        let group = self.store.require_group(id, &group).await?;
        self.store.delete_metric_filter(id, &group, &name).await?;
        Ok(Value::Null)
    }

    async fn describe_metric_filters(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let store = &self.store;
        let cmd = call.decode::<DescribeMetricFiltersRequest>()?.validate()?;
        let metric = cmd.metric.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str()));
        let pager = self.tokens.pager(call.action, id, &(&cmd.group, &cmd.prefix, &cmd.metric));
        let after: Option<FilterCursor> = pager.start(cmd.next_token.as_deref())?;
        let (filters, next) = match &cmd.group {
            // A group has at most 100 filters: read them all, filter and page here.
            Some(g) => {
                let group = store.require_group(id, g).await?;
                let mut all = store.group_metric_filters(id, &group).await?;
                all.retain(|f| {
                    cmd.prefix.as_deref().is_none_or(|p| f.filter_name.starts_with(p))
                        && metric.is_none_or(|(ns, n)| {
                            f.metric_transformations.iter().any(|t| t.metric_namespace == ns && t.metric_name == n)
                        })
                        && after.as_ref().is_none_or(|a| f.filter_name > a.filter)
                });
                let more = all.len() > cmd.limit;
                all.truncate(cmd.limit);
                let next = pager.next(
                    more,
                    all.last().map(|f| FilterCursor {
                        filter: f.filter_name.clone(),
                        group: g.clone(),
                        group_id: group.id.clone(),
                    }),
                );
                (all, next)
            }
            None => {
                let (found, more) = store.list_metric_filters(id, metric, after.as_ref(), cmd.limit).await?;
                let next = pager.next(
                    more,
                    found.last().map(|(f, gid)| FilterCursor {
                        filter: f.filter_name.clone(),
                        group: f.log_group_name.clone(),
                        group_id: gid.clone(),
                    }),
                );
                (found.into_iter().map(|(f, _)| f).collect(), next)
            }
        };
        Ok(with_next_token(json!({ "metricFilters": filters }), next))
    }
}
