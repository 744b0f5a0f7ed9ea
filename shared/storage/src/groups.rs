//! Log group items: create and delete as conditional transactions with the account's group
//! counter, so two racing creates give one winner and the 5,000 limit holds under concurrency.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use logbook_model::logs::{GROUP_EXISTS, GROUP_MISSING, LogGroup, MAX_LOG_GROUPS};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::keys;
use crate::work::JobKind;
use crate::{Store, condition_failed, internal, n, s, to_item};

/// Attempts for a transaction that loses a race on the shared counter before we report
/// `OperationAbortedException` ("multiple requests to update the same resource were in conflict").
const CONFLICT_ATTEMPTS: u32 = 8;

/// A change to one existing group.
#[derive(Debug, Clone)]
pub enum GroupChange {
    SetKmsKey(String),
    ClearKmsKey,
    Tag(Vec<(String, String)>),
    Untag(Vec<String>),
}

impl Store {
    pub async fn create_group(&self, id: &Identity, group: &LogGroup) -> Result<(), ApiError> {
        let key = keys::group(id, &group.name);
        let mut item = to_item(group)?;
        item.extend(key.item());
        item.insert("type".into(), s("group"));
        let limit = || {
            ApiError::new(
                ErrorCode::LimitExceededException,
                format!("Resource limit exceeded: an account can have at most {MAX_LOG_GROUPS} log groups."),
            )
        };
        match self.create_counted(item, keys::counters(id), "groups", MAX_LOG_GROUPS).await? {
            None => Ok(()),
            Some(0) => Err(ApiError::new(ErrorCode::ResourceAlreadyExistsException, GROUP_EXISTS)),
            Some(_) => Err(limit()),
        }
    }

    pub async fn get_group(&self, id: &Identity, name: &str) -> Result<Option<LogGroup>, ApiError> {
        self.get(keys::group(id, name)).await
    }

    /// The group, or AWS's `ResourceNotFoundException`.
    pub async fn require_group(&self, id: &Identity, name: &str) -> Result<LogGroup, ApiError> {
        self.get_group(id, name).await?.ok_or_else(|| ApiError::not_found(GROUP_MISSING))
    }

    /// Removes the group item (its children become unreachable at once, being keyed by the
    /// group's id) and leaves a reclaim marker for the background sweeper.
    pub async fn delete_group(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        let group = self.require_group(id, name).await?;
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(keys::group(id, name).item()))
            .condition_expression("id = :id")
            .expression_attribute_values(":id", s(&group.id))
            .build()
            .map_err(internal)?;
        let items = [
            TransactWriteItem::builder().delete(delete).build(),
            self.decrement(keys::counters(id), "groups", None)?,
            self.job_put(id, JobKind::Group, &group.id, None)?,
        ];
        self.transact(&items, |_| ApiError::not_found(GROUP_MISSING)).await
    }

    /// Groups in name order after `start_after`, at most `limit`, and whether more follow.
    pub async fn list_groups(
        &self,
        id: &Identity,
        prefix: Option<&str>,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LogGroup>, bool), ApiError> {
        let mut q = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .expression_attribute_values(":pk", s(keys::groups(id)))
            // One extra item tells whether another page exists, so the last page has no token.
            .limit(limit as i32 + 1);
        q = match prefix {
            Some(p) => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(p)),
            None => q.key_condition_expression("pk = :pk"),
        };
        if let Some(after) = start_after {
            q = q.set_exclusive_start_key(Some(keys::group(id, after).item()));
        }
        let out = q.send().await.map_err(internal)?;
        crate::page(out.items, limit)
    }

    /// Sets or clears the retention and queues its re-application to stored chunks, in one
    /// transaction: an acknowledged change always reaches the events already stored.
    pub async fn set_retention(&self, id: &Identity, name: &str, days: Option<i64>) -> Result<(), ApiError> {
        let group = self.require_group(id, name).await?;
        let mut u = Update::builder()
            .table_name(self.table())
            .set_key(Some(keys::group(id, name).item()))
            .condition_expression("id = :id")
            .expression_attribute_values(":id", s(&group.id));
        u = match days {
            Some(d) => u.update_expression("SET retentionInDays = :d").expression_attribute_values(":d", n(d)),
            None => u.update_expression("REMOVE retentionInDays"),
        };
        let items = [
            TransactWriteItem::builder().update(u.build().map_err(internal)?).build(),
            self.job_put(id, JobKind::Retention, &group.id, Some(name))?,
        ];
        self.transact(&items, |_| ApiError::not_found(GROUP_MISSING)).await
    }

    pub async fn change_group(&self, id: &Identity, name: &str, change: GroupChange) -> Result<(), ApiError> {
        let mut u = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::group(id, name).item()))
            .condition_expression("attribute_exists(pk)");
        u = match change {
            GroupChange::SetKmsKey(k) => {
                u.update_expression("SET kmsKeyId = :k").expression_attribute_values(":k", s(k))
            }
            GroupChange::ClearKmsKey => u.update_expression("REMOVE kmsKeyId"),
            GroupChange::Tag(tags) => {
                // One path per key: concurrent tag calls on different keys never overwrite each other.
                let mut sets = Vec::new();
                for (i, (k, v)) in tags.into_iter().enumerate() {
                    sets.push(format!("tags.#k{i} = :v{i}"));
                    u = u
                        .expression_attribute_names(format!("#k{i}"), k)
                        .expression_attribute_values(format!(":v{i}"), s(v));
                }
                u.update_expression(format!("SET {}", sets.join(", ")))
            }
            GroupChange::Untag(keys) => {
                if keys.is_empty() {
                    return Ok(());
                }
                let mut removes = Vec::new();
                for (i, k) in keys.into_iter().enumerate() {
                    removes.push(format!("tags.#k{i}"));
                    u = u.expression_attribute_names(format!("#k{i}"), k);
                }
                u.update_expression(format!("REMOVE {}", removes.join(", ")))
            }
        };
        match u.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ApiError::not_found(GROUP_MISSING)),
            Err(e) => Err(internal(e)),
        }
    }

    /// Runs a transaction. A failed condition becomes `on_condition(index of the failed item)`;
    /// losing a race to a concurrent transaction is retried, then reported as
    /// `OperationAbortedException`.
    pub(crate) async fn transact(
        &self,
        items: &[TransactWriteItem],
        on_condition: impl Fn(usize) -> ApiError,
    ) -> Result<(), ApiError> {
        match self.transact_raw(items).await? {
            None => Ok(()),
            Some(i) => Err(on_condition(i)),
        }
    }

    /// Runs a transaction: `None` when it committed, `Some(i)` when item `i`'s condition failed.
    pub(crate) async fn transact_raw(&self, items: &[TransactWriteItem]) -> Result<Option<usize>, ApiError> {
        for attempt in 0..CONFLICT_ATTEMPTS {
            let result = self
                .client()
                .transact_write_items()
                .set_transact_items(Some(items.to_vec()))
                .set_return_consumed_capacity(self.wants_capacity())
                .send()
                .await;
            let reasons = match result {
                Ok(out) => {
                    for c in out.consumed_capacity() {
                        self.count(true, Some(c));
                    }
                    return Ok(None);
                }
                Err(SdkError::ServiceError(e)) => match e.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons().to_vec(),
                    TransactWriteItemsError::TransactionInProgressException(_) => Vec::new(),
                    _ => return Err(internal(e.into_err())),
                },
                Err(e) => return Err(internal(e)),
            };
            if let Some(i) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                return Ok(Some(i));
            }
            // A conflict with another transaction on the same items: back off and try again.
            let jitter = u64::from(attempt) * 7 + (crate::now_millis() as u64 % 13);
            tokio::time::sleep(Duration::from_millis(10 * (1 << attempt.min(5)) + jitter)).await;
        }
        Err(ApiError::new(
            ErrorCode::OperationAbortedException,
            "Multiple requests to modify the same resource were in conflict. Please retry your request.",
        ))
    }
}
