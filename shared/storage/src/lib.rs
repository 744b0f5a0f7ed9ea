//! The single DynamoDB table. [`keys`] is the only place a key is formatted, [`table`] the only
//! place DynamoDB is called; the other modules are split by capability (groups, streams, events,
//! …) so each function's IAM policy can mirror what it uses.

pub mod audit;
pub mod dictionaries;
pub mod events;
pub mod exports;
pub mod filters;
pub mod groups;
pub mod keys;
pub mod metrics;
pub mod policies;
pub mod streams;
pub mod subscriptions;
pub mod table;
pub mod tagging;
pub mod trails;
pub mod work;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub use table::Table;

pub type Item = HashMap<String, AttributeValue>;

/// A handle on the table with what a warm instance remembers, built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    table: Table,
    /// (stream id, hour) → the widest chunk span this instance recorded in that active-hour item:
    /// a warm function writes each item once, and again only when a chunk is wider.
    active_written: Arc<Mutex<HashMap<(String, i64), i64>>>,
    /// Group ids by group key, as this instance last read them: lets PutLogEvents and
    /// GetLogEvents read the group and the stream (keyed by the group's id) in one round trip.
    /// Only a hint: the group is read alongside and its id checked.
    group_ids: Arc<Mutex<HashMap<String, String>>>,
    /// zstd dictionaries by key (`dictionaries.rs`): immutable, read once per instance.
    dictionaries: Arc<Mutex<HashMap<String, Arc<events::Dictionary>>>>,
    /// Raw bytes this instance wrote per group without a dictionary (`dictionaries.rs`).
    group_written: Arc<Mutex<HashMap<String, u64>>>,
}

/// Capacity units DynamoDB reports as consumed, for benchmarks that turn them into dollars. Off
/// unless a store is built `with_meter`; then every call on that store is counted.
#[derive(Debug, Default)]
pub struct Meter {
    /// Thousandths of a unit, so fractional read units add up exactly.
    write_milli: AtomicU64,
    read_milli: AtomicU64,
}

impl Meter {
    pub fn write_units(&self) -> f64 {
        self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn read_units(&self) -> f64 {
        self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn reset(&self) {
        self.write_milli.store(0, Ordering::Relaxed);
        self.read_milli.store(0, Ordering::Relaxed);
    }
    pub(crate) fn add(&self, write: bool, units: f64) {
        let milli = (units * 1000.0).round() as u64;
        let target = if write { &self.write_milli } else { &self.read_milli };
        target.fetch_add(milli, Ordering::Relaxed);
    }
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            table: Table::new(client, table),
            active_written: Default::default(),
            group_ids: Default::default(),
            dictionaries: Default::default(),
            group_written: Default::default(),
        }
    }

    /// The SDK's usual configuration chain (`AWS_ENDPOINT_URL_DYNAMODB` points it at a local
    /// engine) and `LOGBOOK_TABLE` (default `logbook`).
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("LOGBOOK_TABLE").unwrap_or_else(|_| "logbook".to_owned());
        Store::new(Client::new(&config), table)
    }

    /// A store that asks DynamoDB for consumed capacity on every call and adds it up.
    pub fn with_meter(mut self, meter: Arc<Meter>) -> Self {
        self.table = self.table.with_meter(meter);
        self
    }

    /// The table layer every storage module goes through.
    pub fn db(&self) -> &Table {
        &self.table
    }

    /// The table's name and the raw client, for tests and tools that inspect the table.
    pub fn table(&self) -> &str {
        self.table.name()
    }

    pub fn client(&self) -> &Client {
        self.table.client()
    }
}

/// Milliseconds since the epoch, the unit of every AWS Logs timestamp.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// An id as Logbook makes them (ULIDs, UUIDs): 1 to `max` ASCII letters, digits and dashes.
pub fn is_id(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Locks a cache, recovering it if a panicking holder poisoned it (a cache is only a hint).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
