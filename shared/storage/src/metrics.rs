//! What metric filters publish, on its way to CloudWatch, counted exactly once.
//!
//! 1. The fan-out sums the contributions of a batch's new chunks into one [`Delta`] and stores it
//!    in one transaction with each log stream's checkpoint: the table-stream sequence number of
//!    the stream's last chunk counted, conditional on the checkpoint it read. A retried or
//!    redelivered batch skips each stream's chunks at or before its checkpoint, so each chunk
//!    counts once. (One item per batch, not per chunk or stream: few writes when ingest is busy.)
//! 2. One publisher at a time (a lease) takes up to [`ROUND_DELTAS`] pending deltas, records them
//!    as its publication in flight, sums them into datapoints and sends them in PutMetricData
//!    calls. After each call lands, one transaction adds the call's SampleCounts to each
//!    datapoint's `published` count and moves the flight's `sent` mark past the call. Then the
//!    flight is marked finishing, the deltas are deleted and the flight cleared.
//! 3. A publisher that dies between a call and its transaction leaves the flight behind. The next
//!    one recomputes the same calls from the same deltas and asks CloudWatch for the first
//!    unconfirmed call's first datapoint: if CloudWatch holds more samples than `published`
//!    says, the call landed (a call lands whole or not at all) and only the transaction is
//!    redone; otherwise the call is sent again. This relies on Logbook being the only writer of
//!    its metric filters' datapoints, which is what a metric filter's metric is.

use logbook_model::datapoints::{Bucket, Delta, Stat};
use logbook_protocol::ApiError;
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::keys::{self, Key, Kind, METRICS_PENDING};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::table::{Expr, Query, Txn, Write, get_n, get_s, n, s};

/// Deltas per publication: the flight item lists their keys.
pub const ROUND_DELTAS: usize = 100;
/// Datapoints per PutMetricData call: with the flight item, one transaction of at most 100.
pub const CALL_DATAPOINTS: usize = 99;
/// A delta item's JSON at most before compression (DynamoDB's item limit is 400 KB, and zstd
/// makes JSON much smaller).
const DELTA_BYTES: usize = 300_000;
/// Log streams per delta: their checkpoints and the delta's items share one transaction (≤ 100).
pub const MAX_STREAMS_PER_DELTA: usize = 90;
/// zstd level for deltas: JSON of repeated names compresses ~5-10×, and writes are billed per KB.
const ZSTD_LEVEL: i32 = 3;
/// A log stream's checkpoint outlives the fan-out's 24 hours of retries.
const CHECKPOINT_TTL_S: i64 = 2 * 86_400;
/// Published counts are kept past CloudWatch's 14-day window for new datapoints.
const PUBLISHED_TTL_S: i64 = 15 * 86_400;

const DELTA: &str = "delta";
/// The delta's JSON length (to decompress it).
const RAW: &str = "raw";
const CHECKPOINT: &str = "seq";
const OWNER: &str = "owner";
const UNTIL: &str = "until";
const FLIGHT: &str = "flight";
const SENT: &str = "sent";
const FINISHING: &str = "finishing";
const PUBLISHED: &str = "published";

/// A publication in flight: which deltas, since when, how many calls are confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flight {
    pub id: String,
    /// When it started (ms).
    pub at: i64,
    /// The deltas' keys (partition, sort), in order.
    pub deltas: Vec<(String, String)>,
    /// Calls confirmed (landed and counted, or refused and skipped).
    #[serde(skip)]
    pub sent: usize,
    /// Every call is confirmed and the deltas are leaving the pending index.
    #[serde(skip)]
    pub finishing: bool,
}

/// The publisher's lease as read after taking it.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub flight: Option<Flight>,
}

impl Store {
    /// The table-stream sequence numbers (40 digits) up to which these log streams' chunks
    /// (by their event partitions) are counted, read consistently; `None` for a stream never
    /// counted.
    pub async fn metric_checkpoints(&self, events_pks: &[&str]) -> Result<Vec<Option<String>>, ApiError> {
        let keys: Vec<Key> = events_pks.iter().map(|pk| keys::metric_checkpoint(pk)).collect();
        let found = self.db().batch_get(&keys, true).await?;
        Ok(keys
            .iter()
            .map(|k| found.iter().find(|i| k.is(i)).and_then(|i| get_s(i, CHECKPOINT)).map(str::to_owned))
            .collect())
    }

    /// Stores the contributions of a fan-out batch and moves each counted log stream's
    /// checkpoint (`streams`: event partition, the checkpoint read, the new one), in one
    /// transaction, if every checkpoint is still what was read. False when another fan-out
    /// moved one first (the batch is then retried and reads them again). At most
    /// [`MAX_STREAMS_PER_DELTA`] streams.
    pub async fn record_metric_delta(
        &self,
        streams: &[(&str, Option<&str>, String)],
        delta: &Delta,
    ) -> Result<bool, ApiError> {
        let t = self.db();
        let id = ulid::Ulid::new().to_string();
        let mut items = Vec::new();
        for (i, json) in parts(delta)?.iter().enumerate() {
            let packed = zstd::bulk::compress(json, ZSTD_LEVEL).map_err(ApiError::internal)?;
            let mut item = keys::metric_delta(&id, i).item();
            item.extend([Kind::MetricDelta.attribute()]);
            item.insert(DELTA.into(), AttributeValue::B(Blob::new(packed)));
            item.insert(RAW.into(), n(json.len() as i64));
            items.push(t.txn_put(item, None)?);
        }
        let expires = crate::now_millis() / 1000 + CHECKPOINT_TTL_S;
        for (pk, read, last) in streams {
            let condition = match read {
                Some(_) => "#s = :read",
                None => "attribute_not_exists(#s)",
            };
            let mut expr = Expr::update("SET #s = :last, #e = :e, #t = :t")
                .and_when(condition)
                .name("#s", CHECKPOINT)
                .name("#e", keys::EXPIRES_AT)
                .name("#t", crate::keys::attr::TYPE)
                .value(":last", s(last))
                .value(":e", n(expires))
                .value(":t", s(Kind::MetricCheckpoint.as_str()));
            if let Some(r) = read {
                expr = expr.value(":read", s(*r));
            }
            items.push(t.txn_update(&keys::metric_checkpoint(pk), expr)?);
        }
        if items.len() > 100 {
            return Err(ApiError::internal("too many log streams for one metric delta"));
        }
        Ok(matches!(t.transact(items).await?, Txn::Committed))
    }

    /// Pending deltas (their keys), oldest stream first, at most `limit`.
    pub async fn pending_metric_deltas(&self, limit: usize) -> Result<Vec<(String, String)>, ApiError> {
        let page = self.db().page(&Query::new(METRICS_PENDING).limit(limit).project("pk, sk")).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|i| Some((get_s(i, keys::PK)?.to_owned(), get_s(i, keys::SK)?.to_owned())))
            .collect())
    }

    /// The deltas of a flight, read consistently, in the flight's order.
    pub async fn metric_deltas(&self, keys: &[(String, String)]) -> Result<Vec<Delta>, ApiError> {
        let wanted: Vec<Key> = keys.iter().map(|(pk, sk)| Key { pk: pk.clone(), sk: sk.clone() }).collect();
        let mut found: Vec<(Key, Delta)> = Vec::new();
        for item in self.db().batch_get(&wanted, true).await? {
            let (Some(key), Some(AttributeValue::B(blob))) = (Key::of(&item), item.get(DELTA)) else { continue };
            let raw = get_n(&item, RAW).unwrap_or(DELTA_BYTES as i64 * 4).max(16) as usize;
            let json = zstd::bulk::decompress(blob.as_ref(), raw).map_err(ApiError::internal)?;
            found.push((key, serde_json::from_slice(&json).map_err(crate::table::internal)?));
        }
        found.sort_by_key(|(k, _)| wanted.iter().position(|w| w == k));
        Ok(found.into_iter().map(|(_, d)| d).collect())
    }

    /// Whether a publisher has anything to do: a flight left behind, or pending deltas. Reads
    /// only, so an idle run (every minute) writes nothing.
    pub async fn metrics_waiting(&self) -> Result<bool, ApiError> {
        let lease = self.db().get_item(&keys::metrics_publisher()).await?;
        if lease.as_ref().is_some_and(|l| get_s(l, FLIGHT).is_some()) {
            return Ok(true);
        }
        Ok(!self.pending_metric_deltas(1).await?.is_empty())
    }

    /// Takes the publisher's lease until `until` (ms) if it is free, expired or already ours;
    /// `None` when another publisher holds it.
    pub async fn take_publisher_lease(&self, owner: &str, now: i64, until: i64) -> Result<Option<Lease>, ApiError> {
        let key = keys::metrics_publisher();
        let expr = Expr::update("SET #o = :o, #u = :u, #t = :t")
            .and_when("attribute_not_exists(#o) OR #u < :now OR #o = :o")
            .name("#o", OWNER)
            .name("#u", UNTIL)
            .name("#t", crate::keys::attr::TYPE)
            .value(":o", s(owner))
            .value(":u", n(until))
            .value(":now", n(now))
            .value(":t", s(Kind::MetricPublisher.as_str()));
        if self.db().update(&key, expr).await? == Write::ConditionFailed {
            return Ok(None);
        }
        let item = self.db().get_item(&key).await?.unwrap_or_default();
        let flight = match get_s(&item, FLIGHT) {
            Some(text) => {
                let mut f: Flight = serde_json::from_str(text).map_err(crate::table::internal)?;
                f.sent = get_n(&item, SENT).unwrap_or_default().max(0) as usize;
                f.finishing = get_n(&item, FINISHING) == Some(1);
                Some(f)
            }
            None => None,
        };
        Ok(Some(Lease { flight }))
    }

    /// Gives the lease back (a later publisher need not wait for it to expire).
    pub async fn release_publisher_lease(&self, owner: &str) -> Result<(), ApiError> {
        let expr = Expr::update("SET #u = :zero").and_when("#o = :o").name("#u", UNTIL).name("#o", OWNER);
        let expr = expr.value(":zero", n(0)).value(":o", s(owner));
        self.db().update(&keys::metrics_publisher(), expr).await.map(|_| ())
    }

    /// Records a new flight under the lease; false if the lease was lost or a flight is there.
    pub async fn start_flight(&self, owner: &str, flight: &Flight) -> Result<bool, ApiError> {
        let text = serde_json::to_string(flight).map_err(crate::table::internal)?;
        let expr = Expr::update("SET #f = :f, #s = :zero")
            .and_when("#o = :o AND attribute_not_exists(#f)")
            .name("#f", FLIGHT)
            .name("#s", SENT)
            .name("#o", OWNER)
            .value(":f", s(text))
            .value(":zero", n(0))
            .value(":o", s(owner));
        Ok(self.db().update(&keys::metrics_publisher(), expr).await? == Write::Done)
    }

    /// Confirms call number `call` of the flight: adds its SampleCounts to each datapoint's
    /// published count (none for a call CloudWatch refused) and moves `sent` past it, in one
    /// transaction. False if the lease was lost or the call was confirmed already.
    pub async fn confirm_call(
        &self,
        owner: &str,
        flight: &Flight,
        call: usize,
        landed: &[(Bucket, Stat)],
    ) -> Result<bool, ApiError> {
        let t = self.db();
        let expires = crate::now_millis() / 1000 + PUBLISHED_TTL_S;
        let mut items = Vec::with_capacity(landed.len() + 1);
        for (b, st) in landed {
            let expr = Expr::update("ADD #p :n SET #t = :t, #e = :e")
                .name("#p", PUBLISHED)
                .name("#t", crate::keys::attr::TYPE)
                .name("#e", keys::EXPIRES_AT)
                .value(":n", n(st.n.round() as i64))
                .value(":t", s(Kind::MetricPublished.as_str()))
                .value(":e", n(expires));
            items.push(t.txn_update(&keys::metric_published(&bucket_text(b)), expr)?);
        }
        let expr = Expr::update("SET #s = :next")
            .and_when("#o = :o AND #s = :call AND contains(#f, :id)")
            .name("#s", SENT)
            .name("#o", OWNER)
            .name("#f", FLIGHT)
            .value(":next", n(call as i64 + 1))
            .value(":call", n(call as i64))
            .value(":o", s(owner))
            .value(":id", s(&flight.id));
        items.push(t.txn_update(&keys::metrics_publisher(), expr)?);
        Ok(matches!(t.transact(items).await?, Txn::Committed))
    }

    /// How many samples of a datapoint CloudWatch is confirmed to hold.
    pub async fn published_count(&self, b: &Bucket) -> Result<i64, ApiError> {
        let item = self.db().get_item(&keys::metric_published(&bucket_text(b))).await?;
        Ok(item.as_ref().and_then(|i| get_n(i, PUBLISHED)).unwrap_or_default())
    }

    /// Ends a flight whose calls are all confirmed: marked finishing (so a publisher that finds
    /// it after a crash does not recompute calls from the deltas left), its deltas deleted, then
    /// the flight cleared.
    pub async fn finish_flight(&self, owner: &str, flight: &Flight) -> Result<(), ApiError> {
        let mark = Expr::update("SET #x = :one")
            .and_when("#o = :o AND contains(#f, :id)")
            .name("#x", FINISHING)
            .name("#o", OWNER)
            .name("#f", FLIGHT)
            .value(":one", n(1))
            .value(":o", s(owner))
            .value(":id", s(&flight.id));
        if self.db().update(&keys::metrics_publisher(), mark).await? == Write::ConditionFailed {
            return Err(ApiError::internal("the metric publisher's lease was lost"));
        }
        let keys: Vec<crate::Item> =
            flight.deltas.iter().map(|(pk, sk)| Key { pk: pk.clone(), sk: sk.clone() }.item()).collect();
        self.db().batch_delete(keys).await?;
        let expr = Expr::update("REMOVE #f, #s, #x")
            .and_when("#o = :o AND contains(#f, :id)")
            .name("#f", FLIGHT)
            .name("#s", SENT)
            .name("#x", FINISHING)
            .name("#o", OWNER)
            .value(":o", s(owner))
            .value(":id", s(&flight.id));
        self.db().update(&keys::metrics_publisher(), expr).await.map(|_| ())
    }
}

/// A datapoint's identity as text (the key of its published count).
pub fn bucket_text(b: &Bucket) -> String {
    serde_json::to_string(b).unwrap_or_default()
}

/// A delta as the JSON of one or more parts, each at most [`DELTA_BYTES`]: one part almost always
/// (a datapoint per filter, minute and dimension value); halved until the parts fit when many
/// distinct dimension values make it large.
fn parts(delta: &Delta) -> Result<Vec<Vec<u8>>, ApiError> {
    let whole = serde_json::to_vec(delta).map_err(crate::table::internal)?;
    if whole.len() <= DELTA_BYTES || delta.stats.len() + delta.seen.len() <= 1 {
        return Ok(vec![whole]);
    }
    // The first half of the entries (stats, then seen): each half is non-empty.
    let half = (delta.stats.len() + delta.seen.len()) / 2;
    let s = half.min(delta.stats.len());
    let q = half - s;
    let first = Delta { stats: delta.stats[..s].to_vec(), seen: delta.seen[..q].to_vec() };
    let second = Delta { stats: delta.stats[s..].to_vec(), seen: delta.seen[q..].to_vec() };
    let mut out = parts(&first)?;
    out.extend(parts(&second)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use logbook_model::datapoints::Seen;

    #[test]
    fn large_deltas_are_cut_into_parts_that_fit() {
        let bucket = |i: usize| Bucket {
            namespace: "NS".into(),
            metric: "m".into(),
            dimensions: vec![("Id".into(), format!("{i:0>900}"))],
            unit: None,
            minute: 0,
        };
        let seen = |i: usize| Seen { filter: format!("f{i}"), bucket: bucket(i), default: 0.0, matched: false };
        for (stats, seens) in [(0, 0), (1, 1), (1, 0), (1_000, 0), (400, 400), (0, 700)] {
            let delta = Delta {
                stats: (0..stats).map(|i| (bucket(i), Stat::one(1.0))).collect(),
                seen: (0..seens).map(seen).collect(),
            };
            let parts = parts(&delta).unwrap();
            assert!(parts.iter().all(|p| p.len() <= DELTA_BYTES), "{stats} {seens}");
            let mut back = Delta::default();
            for p in &parts {
                let d: Delta = serde_json::from_slice(p).unwrap();
                back.stats.extend(d.stats);
                back.seen.extend(d.seen);
            }
            assert_eq!(back, delta, "{stats} {seens}: every entry once, in order");
        }
    }
}
