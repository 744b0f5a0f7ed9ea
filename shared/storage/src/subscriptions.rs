//! Subscription filters (under their group's immutable id, at most two, counted on the group in
//! the same transaction as each create and delete) and destinations (one partition per account
//! and region, sorted by name).

use logbook_model::logs::{GROUP_MISSING, LogGroup};
use logbook_model::subscriptions::{
    DESTINATION_MISSING, Destination, LIMIT_EXCEEDED, MAX_SUBSCRIPTION_FILTERS, SUBSCRIPTION_MISSING,
    SubscriptionFilter,
};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::groups::same_incarnation;
use crate::keys::{self, Kind, attr};
use crate::table::{Expr, Query, Range, Txn, Write, from_item, n, s, to_item};
use crate::{Item, Store};

/// Where a page of destinations starts: after this name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NameCursor {
    pub name: String,
}

impl logbook_model::token::Cursor for NameCursor {
    fn in_range(&self) -> bool {
        use logbook_model::validate::{NAME_MAX, is_stream_name};
        !self.name.is_empty() && self.name.chars().count() <= NAME_MAX && is_stream_name(&self.name)
    }
}

impl Store {
    fn subscription_item(&self, id: &Identity, group: &LogGroup, f: &SubscriptionFilter) -> Result<Item, ApiError> {
        let mut item = to_item(f)?;
        item.extend(keys::subscription(id, &group.id, &f.filter_name).item());
        item.extend([Kind::Subscription.attribute()]);
        item.insert(attr::GROUP_ID.into(), s(&group.id));
        Ok(item)
    }

    /// Creates the filter, or replaces the one of that name (keeping its creation time, and
    /// allowed at the limit: AWS updates an existing name when two filters exist).
    pub async fn put_subscription_filter(
        &self,
        id: &Identity,
        group: &LogGroup,
        f: &SubscriptionFilter,
    ) -> Result<(), ApiError> {
        let t = self.db();
        let count = Expr::update("ADD #c :one")
            .and_when("attribute_not_exists(#c) OR #c < :max")
            .name("#c", attr::SUBSCRIPTION_FILTER_COUNT)
            .value(":one", n(1))
            .value(":max", n(MAX_SUBSCRIPTION_FILTERS))
            .merge(same_incarnation(group));
        let items = vec![
            t.txn_put(self.subscription_item(id, group, f)?, Some(Expr::absent()))?,
            t.txn_update(&keys::group(id, &group.name), count)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(0) => self.replace_subscription_filter(id, group, f).await,
            Txn::ConditionFailed(_) => match self.get_group(id, &group.name).await? {
                Some(g) if g.id == group.id => Err(ApiError::new(ErrorCode::LimitExceededException, LIMIT_EXCEEDED)),
                _ => Err(ApiError::not_found(GROUP_MISSING)),
            },
        }
    }

    async fn replace_subscription_filter(
        &self,
        id: &Identity,
        group: &LogGroup,
        f: &SubscriptionFilter,
    ) -> Result<(), ApiError> {
        let key = keys::subscription(id, &group.id, &f.filter_name);
        let mut f = f.clone();
        if let Some(old) = self.db().get::<SubscriptionFilter>(&key).await? {
            f.creation_time = old.creation_time;
        }
        match self.db().put(self.subscription_item(id, group, &f)?, Some(Expr::present())).await? {
            Write::Done => Ok(()),
            // Deleted between our two writes: create it afresh.
            Write::ConditionFailed => Box::pin(self.put_subscription_filter(id, group, &f)).await,
        }
    }

    pub async fn delete_subscription_filter(
        &self,
        id: &Identity,
        group: &LogGroup,
        name: &str,
    ) -> Result<(), ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_delete(&keys::subscription(id, &group.id, name), Some(Expr::present()))?,
            t.txn_decrement(&keys::group(id, &group.name), attr::SUBSCRIPTION_FILTER_COUNT, Some(&group.id))?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(0) => Err(ApiError::not_found(SUBSCRIPTION_MISSING)),
            Txn::ConditionFailed(_) => Err(ApiError::not_found(GROUP_MISSING)),
        }
    }

    /// The group's filters by name (two at most: one read).
    pub async fn subscription_filters(
        &self,
        id: &Identity,
        group_id: &str,
    ) -> Result<Vec<SubscriptionFilter>, ApiError> {
        let items = self.db().all(Query::new(keys::subscriptions(id, group_id)), 16).await?;
        items.into_iter().map(from_item).collect()
    }

    /// Counts events a filter dropped (retries ran out, or the target refused them for good).
    pub async fn count_dropped(
        &self,
        id: &Identity,
        group_id: &str,
        filter: &str,
        events: usize,
    ) -> Result<(), ApiError> {
        let e = Expr::update("ADD #d :n")
            .name("#d", attr::DROPPED_EVENTS)
            .value(":n", n(events as i64))
            .and_when("attribute_exists(pk)");
        let _: Write = self.db().update(&keys::subscription(id, group_id, filter), e).await?;
        Ok(())
    }

    /// Creates or updates a destination: target and role replaced; the creation time and an
    /// access policy already put are kept. Returns it as stored.
    pub async fn put_destination(&self, id: &Identity, d: &Destination) -> Result<Destination, ApiError> {
        let key = keys::destination(id, &d.destination_name);
        let e = Expr::update("SET #t = :type, #n = :n, #ta = :ta, #r = :r, #a = :a, #c = if_not_exists(#c, :c)")
            .name("#t", attr::TYPE)
            .name("#n", "destinationName")
            .name("#ta", "targetArn")
            .name("#r", "roleArn")
            .name("#a", "arn")
            .name("#c", "creationTime")
            .value(":type", s(Kind::Destination.as_str()))
            .value(":n", s(&d.destination_name))
            .value(":ta", s(&d.target_arn))
            .value(":r", s(&d.role_arn))
            .value(":a", s(&d.arn))
            .value(":c", n(d.creation_time));
        let _: Write = self.db().update(&key, e).await?;
        self.require_destination(id, &d.destination_name).await
    }

    pub async fn get_destination(&self, id: &Identity, name: &str) -> Result<Option<Destination>, ApiError> {
        self.db().get(&keys::destination(id, name)).await
    }

    pub async fn require_destination(&self, id: &Identity, name: &str) -> Result<Destination, ApiError> {
        self.get_destination(id, name).await?.ok_or_else(|| ApiError::not_found(DESTINATION_MISSING))
    }

    /// Stores the policy verbatim on an existing destination.
    pub async fn put_destination_policy(&self, id: &Identity, name: &str, policy: &str) -> Result<(), ApiError> {
        let e = Expr::update("SET #p = :p").name("#p", "accessPolicy").value(":p", s(policy)).merge(Expr::present());
        match self.db().update(&keys::destination(id, name), e).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(ApiError::not_found(DESTINATION_MISSING)),
        }
    }

    pub async fn delete_destination(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        match self.db().delete(&keys::destination(id, name), Some(Expr::present())).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(ApiError::not_found(DESTINATION_MISSING)),
        }
    }

    /// A page of destinations in name order, after `after`, whose names start with `prefix`.
    pub async fn list_destinations(
        &self,
        id: &Identity,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Destination>, bool), ApiError> {
        let pk = keys::destinations(id);
        let head = prefix.map_or("", |p| keys::prefix_part(p, keys::NAME_BYTES).0);
        let range = match after {
            Some(a) => Range::After(keys::name_part(a, keys::NAME_BYTES).into_owned()),
            None if !head.is_empty() => Range::Prefix(head.to_owned()),
            None => Range::All,
        };
        let mut q = Query::new(pk).range(range).limit(limit + 1);
        let mut out: Vec<Destination> = Vec::new();
        loop {
            let page = self.db().page(&q).await?;
            for item in page.items {
                let d: Destination = from_item(item)?;
                if let Some(p) = prefix {
                    let name = d.destination_name.as_str();
                    // Names sort in key order: once past the prefix's range, nothing follows.
                    if !name.starts_with(head) && name > head {
                        return Ok((out, false));
                    }
                    if !name.starts_with(p) {
                        continue;
                    }
                }
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(d);
            }
            match page.last {
                Some(last) => q = q.after(Some(last)),
                None => return Ok((out, false)),
            }
        }
    }
}
