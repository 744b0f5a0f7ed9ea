//! Resource policy items, created and deleted in a transaction with the account's counter, so
//! the ten-policy limit holds under concurrency; an update of an existing name replaces it.

use logbook_model::policies::{MAX_RESOURCE_POLICIES, ResourcePolicy, limit_exceeded, policy_missing};
use logbook_protocol::{ApiError, Identity};

use crate::keys::{self, Kind, attr};
use crate::table::{Created, Expr, Query, Txn, Write, from_item, to_item};
use crate::{Item, Store};

fn policy_item(id: &Identity, p: &ResourcePolicy) -> Result<Item, ApiError> {
    let mut item = to_item(p)?;
    item.extend(keys::resource_policy(id, &p.policy_name).item());
    item.extend([Kind::ResourcePolicy.attribute()]);
    Ok(item)
}

impl Store {
    /// Creates the policy, or replaces the one of that name (allowed at the limit, as in AWS).
    pub async fn put_resource_policy(&self, id: &Identity, p: &ResourcePolicy) -> Result<(), ApiError> {
        let t = self.db();
        match t
            .create_counted(policy_item(id, p)?, &keys::counters(id), attr::RESOURCE_POLICIES, MAX_RESOURCE_POLICIES)
            .await?
        {
            Created::New => Ok(()),
            Created::AtLimit => Err(limit_exceeded()),
            Created::Exists => match t.put(policy_item(id, p)?, Some(Expr::present())).await? {
                Write::Done => Ok(()),
                // Deleted between the two writes: create it afresh.
                Write::ConditionFailed => Box::pin(self.put_resource_policy(id, p)).await,
            },
        }
    }

    pub async fn delete_resource_policy(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_delete(&keys::resource_policy(id, name), Some(Expr::present()))?,
            t.txn_decrement(&keys::counters(id), attr::RESOURCE_POLICIES, None)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => Err(policy_missing(name)),
        }
    }

    /// Every policy of the account and region (at most 10), in name order.
    pub async fn resource_policies(&self, id: &Identity) -> Result<Vec<ResourcePolicy>, ApiError> {
        let items = self.db().all(Query::new(keys::resource_policies(id)), usize::MAX).await?;
        let mut list: Vec<ResourcePolicy> = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        list.sort_by(|a, b| a.policy_name.cmp(&b.policy_name));
        Ok(list)
    }
}
