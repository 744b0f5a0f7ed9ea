//! Generic access to the one DynamoDB table: consistent reads, conditional writes, counted
//! creates, transactions, batches and paged queries. Domain modules (groups, streams, events, …)
//! say *what* to read and write; this module says *how*, once: which reads are consistent, how a
//! failed condition is recognised, how capacity is metered, and how throttled or unprocessed
//! requests are retried.
//!
//! Outcomes a caller must tell apart are types ([`Write`], [`Created`], [`Txn`]), not `Option`s;
//! a DynamoDB failure we did not expect becomes [`ApiError::internal`] with its source attached.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest,
    ReturnConsumedCapacity, TransactWriteItem, Update, WriteRequest,
};
use logbook_protocol::{ApiError, ErrorCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{GSI1, GSI2, Key, PK, SK, index_keys};
use crate::{Item, Meter};

/// Most items one BatchWriteItem takes.
pub const BATCH_WRITE_MAX: usize = 25;
/// Most keys one BatchGetItem takes.
pub const BATCH_GET_MAX: usize = 100;

/// How a single write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Write {
    Done,
    /// Its condition did not hold; nothing was written.
    ConditionFailed,
}

/// How a counted create ([`Table::create_counted`]) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Created {
    New,
    /// An item with that key already exists.
    Exists,
    /// The counter is at its maximum.
    AtLimit,
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Txn {
    Committed,
    /// The condition of the item at this index did not hold; nothing was written.
    ConditionFailed(usize),
}

/// An update and/or condition expression with its names and values.
#[derive(Debug, Clone, Default)]
pub struct Expr {
    update: Option<String>,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// An update expression (`SET a = :a`, `REMOVE b`, `ADD c :one`).
    pub fn update(e: impl Into<String>) -> Expr {
        Expr { update: Some(e.into()), ..Expr::default() }
    }

    /// A condition only (for puts and deletes).
    pub fn when(e: impl Into<String>) -> Expr {
        Expr { condition: Some(e.into()), ..Expr::default() }
    }

    /// The item must not exist yet.
    pub fn absent() -> Expr {
        Expr::when(format!("attribute_not_exists({PK})"))
    }

    /// The item must exist.
    pub fn present() -> Expr {
        Expr::when(format!("attribute_exists({PK})"))
    }

    /// Adds (or sets) the condition.
    pub fn and_when(mut self, e: impl Into<String>) -> Expr {
        let e = e.into();
        self.condition = Some(match self.condition.take() {
            Some(c) => format!("({c}) AND ({e})"),
            None => e,
        });
        self
    }

    /// Both expressions: the update of either (at most one may have one), both conditions, and
    /// all names and values.
    pub fn merge(mut self, other: Expr) -> Expr {
        debug_assert!(self.update.is_none() || other.update.is_none(), "two update expressions");
        self.update = self.update.or(other.update);
        if let Some(c) = other.condition {
            self = self.and_when(c);
        }
        self.names.extend(other.names);
        self.values.extend(other.values);
        self
    }

    pub fn name(mut self, placeholder: impl Into<String>, attribute: impl Into<String>) -> Expr {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }

    pub fn value(mut self, placeholder: impl Into<String>, v: AttributeValue) -> Expr {
        self.values.insert(placeholder.into(), v);
        self
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Which sort keys a query reads.
#[derive(Debug, Clone)]
pub enum Range {
    All,
    Prefix(String),
    /// Inclusive bounds.
    Between(String, String),
    /// Strictly after.
    After(String),
    /// From, inclusive.
    From(String),
    /// Strictly before (a backward listing's next page).
    Before(String),
}

/// A query on one partition of the table or of an index, built step by step.
#[derive(Debug, Clone)]
pub struct Query {
    pk: String,
    range: Range,
    index: Option<&'static str>,
    forward: bool,
    limit: Option<usize>,
    start: Option<Item>,
    projection: Option<&'static str>,
    eventual: bool,
}

impl Query {
    pub fn new(pk: impl Into<String>) -> Query {
        Query {
            pk: pk.into(),
            range: Range::All,
            index: None,
            forward: true,
            limit: None,
            start: None,
            projection: None,
            eventual: false,
        }
    }

    /// Eventually consistent (half the read units): for items written long enough ago that
    /// every replica has them.
    pub fn eventually_consistent(mut self) -> Query {
        self.eventual = true;
        self
    }

    pub fn range(mut self, range: Range) -> Query {
        self.range = range;
        self
    }

    /// On a global secondary index (`gsi1`, `gsi2`): its keys replace `pk`/`sk`; reads are
    /// eventually consistent there.
    pub fn index(mut self, index: &'static str) -> Query {
        self.index = Some(index);
        self
    }

    pub fn backward(mut self, backward: bool) -> Query {
        self.forward = !backward;
        self
    }

    /// Items per page (DynamoDB's `Limit`).
    pub fn limit(mut self, limit: usize) -> Query {
        self.limit = Some(limit);
        self
    }

    /// Continue after this key (a page's `last` or one built in `keys.rs`).
    pub fn after(mut self, start: Option<Item>) -> Query {
        self.start = start;
        self
    }

    /// Only these attributes (fewer bytes over the wire; the same read units).
    pub fn project(mut self, attributes: &'static str) -> Query {
        self.projection = Some(attributes);
        self
    }
}

/// One page of a query: its items and where the next page starts.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub last: Option<Item>,
}

/// Bounded retries with exponential backoff and full jitter, for everything DynamoDB asks us to
/// retry ourselves: unprocessed batch items and keys, and transactions that lost a race.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

/// The one retry policy of the table layer: ~8 tries over at most a few seconds.
pub const RETRY: Retry = Retry { attempts: 8, base: Duration::from_millis(10), cap: Duration::from_millis(1_000) };

impl Retry {
    /// The pause before retry `attempt` (0-based): uniform in `[0, min(cap, base·2^attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << attempt.min(16)).min(self.cap);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// The table: a client, its name, and an optional capacity meter.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: String,
    meter: Option<Arc<Meter>>,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Table {
        Table { client, name: name.into(), meter: None }
    }

    pub fn with_meter(mut self, meter: Arc<Meter>) -> Table {
        self.meter = Some(meter);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn wants_capacity(&self) -> Option<ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| ReturnConsumedCapacity::Total)
    }

    fn count<'a>(&self, write: bool, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        if let Some(m) = &self.meter {
            for c in consumed {
                m.add(write, c.capacity_units().unwrap_or_default());
            }
        }
    }

    /// One item by key, read consistently.
    pub async fn get_item(&self, key: &Key) -> Result<Option<Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .set_return_consumed_capacity(self.wants_capacity())
            .send()
            .await
            .map_err(internal)?;
        self.count(false, out.consumed_capacity());
        Ok(out.item)
    }

    /// One item by key, read consistently, as `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, ApiError> {
        self.get_item(key).await?.map(from_item).transpose()
    }

    /// Puts an item, under a condition when given.
    pub async fn put(&self, item: Item, condition: Option<Expr>) -> Result<Write, ApiError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .set_return_consumed_capacity(self.wants_capacity());
        if let Some(c) = condition {
            req = req
                .set_condition_expression(c.condition.clone())
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values());
        }
        match req.send().await {
            Ok(out) => {
                self.count(true, out.consumed_capacity());
                Ok(Write::Done)
            }
            Err(e) if condition_failed(&e) => Ok(Write::ConditionFailed),
            Err(e) => Err(internal(e)),
        }
    }

    /// Updates an item with `expr` (its update and its condition).
    pub async fn update(&self, key: &Key, expr: Expr) -> Result<Write, ApiError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key.item()))
            .set_update_expression(expr.update.clone())
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .set_return_consumed_capacity(self.wants_capacity())
            .send()
            .await;
        match out {
            Ok(out) => {
                self.count(true, out.consumed_capacity());
                Ok(Write::Done)
            }
            Err(e) if condition_failed(&e) => Ok(Write::ConditionFailed),
            Err(e) => Err(internal(e)),
        }
    }

    /// Deletes an item, under a condition when given.
    pub async fn delete(&self, key: &Key, condition: Option<Expr>) -> Result<Write, ApiError> {
        let mut req = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key.item()))
            .set_return_consumed_capacity(self.wants_capacity());
        if let Some(c) = condition {
            req = req
                .set_condition_expression(c.condition.clone())
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values());
        }
        match req.send().await {
            Ok(out) => {
                self.count(true, out.consumed_capacity());
                Ok(Write::Done)
            }
            Err(e) if condition_failed(&e) => Ok(Write::ConditionFailed),
            Err(e) => Err(internal(e)),
        }
    }

    /// A transaction's put.
    pub fn txn_put(&self, item: Item, condition: Option<Expr>) -> Result<TransactWriteItem, ApiError> {
        let mut put = Put::builder().table_name(&self.name).set_item(Some(item));
        if let Some(c) = condition {
            put = put
                .set_condition_expression(c.condition.clone())
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values());
        }
        Ok(TransactWriteItem::builder().put(put.build().map_err(internal)?).build())
    }

    /// A transaction's update.
    pub fn txn_update(&self, key: &Key, expr: Expr) -> Result<TransactWriteItem, ApiError> {
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(key.item()))
            .set_update_expression(expr.update.clone())
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction's delete.
    pub fn txn_delete(&self, key: &Key, condition: Option<Expr>) -> Result<TransactWriteItem, ApiError> {
        let mut delete = Delete::builder().table_name(&self.name).set_key(Some(key.item()));
        if let Some(c) = condition {
            delete = delete
                .set_condition_expression(c.condition.clone())
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values());
        }
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(internal)?).build())
    }

    /// Runs a transaction. Losing a race to a concurrent transaction on the same items is retried
    /// ([`RETRY`]), then answered `OperationAbortedException`, AWS's error for exactly that.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Txn, ApiError> {
        for attempt in 0..RETRY.attempts {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .set_return_consumed_capacity(self.wants_capacity())
                .send()
                .await;
            let reasons = match result {
                Ok(out) => {
                    self.count(true, out.consumed_capacity());
                    return Ok(Txn::Committed);
                }
                Err(SdkError::ServiceError(e)) => match e.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons().to_vec(),
                    TransactWriteItemsError::TransactionInProgressException(_) => Vec::new(),
                    _ => return Err(internal(e.into_err())),
                },
                Err(e) => return Err(internal(e)),
            };
            if let Some(i) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                return Ok(Txn::ConditionFailed(i));
            }
            tokio::time::sleep(RETRY.delay(attempt)).await;
        }
        Err(ApiError::new(
            ErrorCode::OperationAbortedException,
            "Multiple requests to modify the same resource were in conflict. Please retry your request.",
        ))
    }

    /// Puts a new item and counts it on `counter.attribute`, refusing at `max`, in one
    /// transaction: two racing creates give one winner, and the limit holds under concurrency.
    pub async fn create_counted(
        &self,
        item: Item,
        counter: &Key,
        attribute: &str,
        max: i64,
    ) -> Result<Created, ApiError> {
        self.create_counted_with(item, counter, attribute, max, Vec::new()).await
    }

    /// [`Table::create_counted`], with more writes in the same transaction (conditions on
    /// them must hold; a failed one reads as [`Created::AtLimit`] only if it is the counter's).
    pub async fn create_counted_with(
        &self,
        item: Item,
        counter: &Key,
        attribute: &str,
        max: i64,
        also: Vec<TransactWriteItem>,
    ) -> Result<Created, ApiError> {
        let count = Expr::update("ADD #c :one")
            .and_when("attribute_not_exists(#c) OR #c < :max")
            .name("#c", attribute)
            .value(":one", n(1))
            .value(":max", n(max));
        let mut items = vec![self.txn_put(item, Some(Expr::absent()))?, self.txn_update(counter, count)?];
        items.extend(also);
        Ok(match self.transact(items).await? {
            Txn::Committed => Created::New,
            Txn::ConditionFailed(0) => Created::Exists,
            Txn::ConditionFailed(1) => Created::AtLimit,
            Txn::ConditionFailed(_) => {
                return Err(ApiError::internal("a counted create's other write failed its condition"));
            }
        })
    }

    /// The transaction item that takes one off `counter.attribute` when a counted item goes;
    /// with `owner`, only while the counter item's `id` is still that (a group re-created
    /// meanwhile is not miscounted).
    pub fn txn_decrement(
        &self,
        counter: &Key,
        attribute: &str,
        owner: Option<&str>,
    ) -> Result<TransactWriteItem, ApiError> {
        let mut e = Expr::update("ADD #c :minus").name("#c", attribute).value(":minus", n(-1));
        if let Some(id) = owner {
            e = e.and_when("id = :owner").value(":owner", s(id));
        }
        self.txn_update(counter, e)
    }

    /// Writes (puts and deletes) with BatchWriteItem, 25 at a time, retrying what DynamoDB leaves
    /// unprocessed under [`RETRY`].
    pub async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), ApiError> {
        for batch in requests.chunks(BATCH_WRITE_MAX) {
            let mut pending = batch.to_vec();
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, pending)
                    .set_return_consumed_capacity(self.wants_capacity())
                    .send()
                    .await
                    .map_err(internal)?;
                self.count(true, out.consumed_capacity());
                pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.name)).unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt + 1 >= RETRY.attempts {
                    return Err(ApiError::internal("BatchWriteItem left items unprocessed after retries"));
                }
                tokio::time::sleep(RETRY.delay(attempt)).await;
                attempt += 1;
            }
        }
        Ok(())
    }

    /// Puts items with [`Table::batch_write`].
    pub async fn batch_put(&self, items: Vec<Item>) -> Result<(), ApiError> {
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(internal)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        self.batch_write(requests).await
    }

    /// Deletes items by key (items holding at least `pk` and `sk`) with [`Table::batch_write`].
    pub async fn batch_delete(&self, keys: Vec<Item>) -> Result<(), ApiError> {
        let requests = keys
            .into_iter()
            .map(|k| {
                let key: Item = k.into_iter().filter(|(name, _)| name == PK || name == SK).collect();
                let delete = DeleteRequest::builder().set_key(Some(key)).build().map_err(internal)?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        self.batch_write(requests).await
    }

    /// Items by key with BatchGetItem (consistent when asked), 100 keys at a time, retrying
    /// unprocessed keys under [`RETRY`]. Missing items are simply absent; order is not kept.
    pub async fn batch_get(&self, keys: &[Key], consistent: bool) -> Result<Vec<Item>, ApiError> {
        let mut found = Vec::with_capacity(keys.len());
        for batch in keys.chunks(BATCH_GET_MAX) {
            let mut wanted: Vec<Item> = batch.iter().map(Key::item).collect();
            let mut attempt = 0;
            loop {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(wanted))
                    .consistent_read(consistent)
                    .build()
                    .map_err(internal)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .set_return_consumed_capacity(self.wants_capacity())
                    .send()
                    .await
                    .map_err(internal)?;
                self.count(false, out.consumed_capacity());
                found.extend(out.responses.and_then(|mut r| r.remove(&self.name)).unwrap_or_default());
                wanted =
                    out.unprocessed_keys.and_then(|mut m| m.remove(&self.name)).map(|k| k.keys).unwrap_or_default();
                if wanted.is_empty() {
                    break;
                }
                if attempt + 1 >= RETRY.attempts {
                    return Err(ApiError::internal("BatchGetItem left keys unprocessed after retries"));
                }
                tokio::time::sleep(RETRY.delay(attempt)).await;
                attempt += 1;
            }
        }
        Ok(found)
    }

    /// One page of a query. Table queries read consistently; index queries cannot. An empty
    /// range (bounds the wrong way round, as an inverted time window makes them) reads nothing:
    /// DynamoDB would refuse the condition.
    pub async fn page(&self, q: &Query) -> Result<Page, ApiError> {
        if let Range::Between(a, b) = &q.range
            && a > b
        {
            return Ok(Page::default());
        }
        let (pk_name, sk_name) = match q.index {
            None => (PK, SK),
            Some(index) => index_keys(index),
        };
        let mut req = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(q.index.map(str::to_owned))
            .consistent_read(q.index.is_none() && !q.eventual)
            .scan_index_forward(q.forward)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(&q.pk))
            .set_exclusive_start_key(q.start.clone())
            .set_return_consumed_capacity(self.wants_capacity());
        if let Some(limit) = q.limit {
            req = req.limit(i32::try_from(limit).unwrap_or(i32::MAX));
        }
        if let Some(p) = q.projection {
            req = req.projection_expression(p);
        }
        let condition = match &q.range {
            Range::All => "#pk = :pk",
            Range::Prefix(p) => {
                req = req.expression_attribute_values(":a", s(p));
                "#pk = :pk AND begins_with(#sk, :a)"
            }
            Range::Between(a, b) => {
                req = req.expression_attribute_values(":a", s(a)).expression_attribute_values(":b", s(b));
                "#pk = :pk AND #sk BETWEEN :a AND :b"
            }
            Range::After(a) => {
                req = req.expression_attribute_values(":a", s(a));
                "#pk = :pk AND #sk > :a"
            }
            Range::From(a) => {
                req = req.expression_attribute_values(":a", s(a));
                "#pk = :pk AND #sk >= :a"
            }
            Range::Before(a) => {
                req = req.expression_attribute_values(":a", s(a));
                "#pk = :pk AND #sk < :a"
            }
        };
        if !matches!(q.range, Range::All) {
            req = req.expression_attribute_names("#sk", sk_name);
        }
        let out = req.key_condition_expression(condition).send().await.map_err(internal)?;
        self.count(false, out.consumed_capacity());
        Ok(Page { items: out.items.unwrap_or_default(), last: out.last_evaluated_key })
    }

    /// Every item of a query (page after page), at most `max`.
    pub async fn all(&self, q: Query, max: usize) -> Result<Vec<Item>, ApiError> {
        let mut q = q;
        let mut out = Vec::new();
        loop {
            let page = self.page(&q).await?;
            for item in page.items {
                if out.len() >= max {
                    return Ok(out);
                }
                out.push(item);
            }
            match page.last {
                Some(last) if out.len() < max => q.start = Some(last),
                _ => return Ok(out),
            }
        }
    }

    /// A listing page: asks for `limit + 1` items and answers `limit` of them as `T` and whether
    /// more follow, so the last page carries no token.
    pub async fn listing<T: DeserializeOwned>(&self, q: Query, limit: usize) -> Result<(Vec<T>, bool), ApiError> {
        let page = self.page(&q.limit(limit + 1)).await?;
        let more = page.items.len() > limit;
        let out = page.items.into_iter().take(limit).map(from_item).collect::<Result<Vec<T>, _>>()?;
        Ok((out, more))
    }
}

/// The index names the table has, for tests and the policy check.
pub const INDEXES: [&str; 2] = [GSI1, GSI2];

/// Whether a request failed only because its condition did not hold.
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// A DynamoDB failure we did not expect is our fault: the detail travels to the log, the caller
/// gets a 5xx.
pub fn internal<E: std::error::Error>(e: E) -> ApiError {
    ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

pub fn to_item<T: Serialize>(v: &T) -> Result<Item, ApiError> {
    serde_dynamo::to_item(v).map_err(ApiError::internal)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item).map_err(ApiError::internal)
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute of an item, if it has one.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A number attribute of an item, if it has one that fits an `i64`.
pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        for attempt in 0..RETRY.attempts + 4 {
            let d = RETRY.delay(attempt);
            assert!(d <= RETRY.cap, "{attempt}: {d:?}");
            assert!(d <= RETRY.base * (1 << attempt.min(16)), "{attempt}: {d:?}");
        }
        let spread: std::collections::HashSet<Duration> = (0..20).map(|_| RETRY.delay(5)).collect();
        assert!(spread.len() > 1, "full jitter varies");
    }

    #[test]
    fn conditions_combine() {
        let e = Expr::update("SET a = :a").and_when("x = :x").and_when("y = :y");
        assert_eq!(e.condition.as_deref(), Some("(x = :x) AND (y = :y)"));
        assert_eq!(Expr::absent().condition.as_deref(), Some("attribute_not_exists(pk)"));
    }
}
