//! The single DynamoDB table. [`keys`] is the only place a key is formatted; the other modules
//! are split by capability (groups, streams) so each function's IAM policy can mirror what it uses.

pub mod audit;
pub mod events;
pub mod filters;
pub mod groups;
pub mod keys;
pub mod streams;
pub mod trails;
pub mod work;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use logbook_protocol::ApiError;

pub type Item = HashMap<String, AttributeValue>;

/// A handle on the table, built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    meter: Option<std::sync::Arc<Meter>>,
    /// (stream id, hour) pairs whose active-hour item this instance already wrote: a warm
    /// function writes each once, not once per PutLogEvents.
    active_written: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<(String, i64)>>>,
    /// Group ids by group key, as this instance last read them: lets PutLogEvents and
    /// GetLogEvents read the group and the stream (keyed by the group's id) in one round trip.
    /// Only a hint: the group is read alongside and its id checked.
    group_ids: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

/// Capacity units DynamoDB reports as consumed by the event paths (PutLogEvents, reads), for
/// benchmarks that turn them into dollars. Off unless a store is built `with_meter`.
#[derive(Debug, Default)]
pub struct Meter {
    /// Thousandths of a unit, so fractional read units add up exactly.
    write_milli: std::sync::atomic::AtomicU64,
    read_milli: std::sync::atomic::AtomicU64,
}

impl Meter {
    pub fn write_units(&self) -> f64 {
        self.write_milli.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn read_units(&self) -> f64 {
        self.read_milli.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn reset(&self) {
        self.write_milli.store(0, std::sync::atomic::Ordering::Relaxed);
        self.read_milli.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            meter: None,
            active_written: Default::default(),
            group_ids: Default::default(),
        }
    }

    /// The SDK's usual configuration chain (`AWS_ENDPOINT_URL_DYNAMODB` points it at a local
    /// engine) and `LOGBOOK_TABLE` (default `logbook`).
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("LOGBOOK_TABLE").unwrap_or_else(|_| "logbook".to_owned());
        Store::new(Client::new(&config), table)
    }

    /// A store that asks DynamoDB for consumed capacity on the event paths and adds it up.
    pub fn with_meter(mut self, meter: std::sync::Arc<Meter>) -> Self {
        self.meter = Some(meter);
        self
    }

    pub(crate) fn wants_capacity(&self) -> Option<aws_sdk_dynamodb::types::ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
    }

    pub(crate) fn count(&self, write: bool, c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) {
        if let (Some(m), Some(units)) = (&self.meter, c.and_then(|c| c.capacity_units())) {
            let milli = (units * 1000.0).round() as u64;
            let target = if write { &m.write_milli } else { &m.read_milli };
            target.fetch_add(milli, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

impl Store {
    /// One item by key, read consistently.
    pub(crate) async fn get<T: serde::de::DeserializeOwned>(&self, key: keys::Key) -> Result<Option<T>, ApiError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(internal)?;
        out.item.map(from_item).transpose()
    }

    /// Puts a new item and counts it on `counter.attribute`, refusing at `max`, in one
    /// transaction: `None` when created, `Some(0)` when the item exists, `Some(1)` at the limit.
    pub(crate) async fn create_counted(
        &self,
        item: Item,
        counter: keys::Key,
        attribute: &str,
        max: i64,
    ) -> Result<Option<usize>, ApiError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(internal)?;
        let count = Update::builder()
            .table_name(self.table())
            .set_key(Some(counter.item()))
            .update_expression("ADD #c :one")
            .condition_expression("attribute_not_exists(#c) OR #c < :max")
            .expression_attribute_names("#c", attribute)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max))
            .build()
            .map_err(internal)?;
        let items = [TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(count).build()];
        self.transact_raw(&items).await
    }

    /// The transaction item that takes one off `counter.attribute` when a counted item goes; with
    /// `owner`, only while the counter item's `id` is still that (a group re-created meanwhile is
    /// not miscounted).
    pub(crate) fn decrement(
        &self,
        counter: keys::Key,
        attribute: &str,
        owner: Option<&str>,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, ApiError> {
        use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
        let mut u = Update::builder()
            .table_name(self.table())
            .set_key(Some(counter.item()))
            .update_expression("ADD #c :minus")
            .expression_attribute_names("#c", attribute)
            .expression_attribute_values(":minus", n(-1));
        if let Some(id) = owner {
            u = u.condition_expression("id = :owner").expression_attribute_values(":owner", s(id));
        }
        Ok(TransactWriteItem::builder().update(u.build().map_err(internal)?).build())
    }
}

/// Milliseconds since the epoch, the unit of every AWS Logs timestamp.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Whether a conditional write failed only because its condition did not hold.
pub(crate) fn condition_failed<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// A DynamoDB failure we did not expect is our fault: logged, hidden, 5xx.
pub(crate) fn internal<E: std::error::Error>(e: E) -> ApiError {
    ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

pub(crate) fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, ApiError> {
    serde_dynamo::to_item(v).map_err(ApiError::internal)
}

pub(crate) fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item).map_err(ApiError::internal)
}

/// A query page of `limit + 1` items as `limit` items and whether more follow: the extra item
/// saves clients a last, empty page.
pub(crate) fn page<T: serde::de::DeserializeOwned>(
    items: Option<Vec<Item>>,
    limit: usize,
) -> Result<(Vec<T>, bool), ApiError> {
    let mut out = items.unwrap_or_default().into_iter().map(from_item).collect::<Result<Vec<T>, _>>()?;
    let more = out.len() > limit;
    out.truncate(limit);
    Ok((out, more))
}
