//! Log group items: create and delete as conditional transactions with the account's group
//! counter, so two racing creates give one winner and the 5,000 limit holds under concurrency.

use logbook_model::logs::{DELETION_PROTECTED, GROUP_EXISTS, GROUP_MISSING, LogGroup, MAX_LOG_GROUPS};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::Store;
use crate::keys::{self, Kind, attr};
use crate::table::{Created, Expr, Query, Range, Txn, Write, n, s, to_item};
use crate::work::JobKind;

/// A change to one existing group.
#[derive(Debug, Clone)]
pub enum GroupChange {
    SetKmsKey(String),
    ClearKmsKey,
    /// PutLogGroupDeletionProtection (off is stored as no attribute).
    DeletionProtection(bool),
}

impl Store {
    pub async fn create_group(&self, id: &Identity, group: &LogGroup) -> Result<(), ApiError> {
        let key = keys::group(id, &group.name);
        let mut item = to_item(group)?;
        item.extend(key.item());
        item.extend([Kind::Group.attribute()]);
        match self.db().create_counted(item, &keys::counters(id), attr::GROUPS, MAX_LOG_GROUPS).await? {
            Created::New => Ok(()),
            Created::Exists => Err(ApiError::new(ErrorCode::ResourceAlreadyExistsException, GROUP_EXISTS)),
            Created::AtLimit => Err(ApiError::new(
                ErrorCode::LimitExceededException,
                format!("Resource limit exceeded: an account can have at most {MAX_LOG_GROUPS} log groups."),
            )),
        }
    }

    pub async fn get_group(&self, id: &Identity, name: &str) -> Result<Option<LogGroup>, ApiError> {
        self.db().get(&keys::group(id, name)).await
    }

    /// The group, or AWS's `ResourceNotFoundException`.
    pub async fn require_group(&self, id: &Identity, name: &str) -> Result<LogGroup, ApiError> {
        self.get_group(id, name).await?.ok_or_else(|| ApiError::not_found(GROUP_MISSING))
    }

    /// Removes the group item (its children become unreachable at once, being keyed by the
    /// group's id) and leaves a reclaim job for the background worker, in one transaction.
    /// Refused while the group has deletion protection (checked in the same transaction, so a
    /// concurrent PutLogGroupDeletionProtection wins or loses as a whole).
    pub async fn delete_group(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        let group = self.require_group(id, name).await?;
        if group.deletion_protection_enabled {
            return Err(protected());
        }
        let t = self.db();
        let unprotected =
            same_incarnation(&group).and_when("attribute_not_exists(#dp)").name("#dp", attr::DELETION_PROTECTION);
        let items = vec![
            t.txn_delete(&keys::group(id, name), Some(unprotected))?,
            t.txn_decrement(&keys::counters(id), attr::GROUPS, None)?,
            self.job_put(id, JobKind::Group, &group.id, None)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => match self.get_group(id, name).await? {
                Some(g) if g.deletion_protection_enabled => Err(protected()),
                _ => Err(ApiError::not_found(GROUP_MISSING)),
            },
        }
    }

    /// Groups in name order after `start_after`, at most `limit`, and whether more follow.
    pub async fn list_groups(
        &self,
        id: &Identity,
        prefix: Option<&str>,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LogGroup>, bool), ApiError> {
        let range = prefix.map_or(Range::All, |p| Range::Prefix(p.to_owned()));
        let q = Query::new(keys::groups(id)).range(range).after(start_after.map(|after| keys::group(id, after).item()));
        self.db().listing(q, limit).await
    }

    /// Sets or clears the retention and queues its re-application to stored chunks, in one
    /// transaction: an acknowledged change always reaches the events already stored.
    pub async fn set_retention(&self, id: &Identity, name: &str, days: Option<i64>) -> Result<(), ApiError> {
        let group = self.require_group(id, name).await?;
        let change = match days {
            Some(d) => Expr::update("SET #r = :d").value(":d", n(d)),
            None => Expr::update("REMOVE #r"),
        };
        let change = change.name("#r", attr::RETENTION);
        let t = self.db();
        let items = vec![
            t.txn_update(&keys::group(id, name), merge(change, same_incarnation(&group)))?,
            self.job_put(id, JobKind::Retention, &group.id, Some(name))?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => Err(ApiError::not_found(GROUP_MISSING)),
        }
    }

    pub async fn change_group(&self, id: &Identity, name: &str, change: GroupChange) -> Result<(), ApiError> {
        let e = match change {
            GroupChange::SetKmsKey(k) => Expr::update("SET #k = :k").name("#k", attr::KMS_KEY).value(":k", s(k)),
            GroupChange::ClearKmsKey => Expr::update("REMOVE #k").name("#k", attr::KMS_KEY),
            GroupChange::DeletionProtection(true) => Expr::update("SET #dp = :t")
                .name("#dp", attr::DELETION_PROTECTION)
                .value(":t", AttributeValue::Bool(true)),
            GroupChange::DeletionProtection(false) => Expr::update("REMOVE #dp").name("#dp", attr::DELETION_PROTECTION),
        };
        let e = e.and_when("attribute_exists(pk)");
        match self.db().update(&keys::group(id, name), e).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(ApiError::not_found(GROUP_MISSING)),
        }
    }
}

fn protected() -> ApiError {
    ApiError::new(ErrorCode::ValidationException, DELETION_PROTECTED)
}

/// The condition that the group item is still the incarnation `group` was read as.
pub(crate) fn same_incarnation(group: &LogGroup) -> Expr {
    Expr::when("#id = :gid").name("#id", attr::ID).value(":gid", s(&group.id))
}

fn merge(update: Expr, other: Expr) -> Expr {
    update.merge(other)
}
