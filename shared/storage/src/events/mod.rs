//! Log events, packed: each PutLogEvents becomes one or a few immutable chunk items per stream,
//! many events each, zstd-compressed. One item per event would cost ~1 WRU per event; a chunk
//! costs ~1 WRU per compressed KB. Chunks are written once, conditionally on a unique id, so
//! parallel writers to one stream never overwrite or duplicate each other.
//!
//! A chunk's events span at most [`CHUNK_SPAN_MAX`], so a read of `[start, end)` starts at chunks
//! whose first event is at `start - CHUNK_SPAN_MAX`. Chunks of concurrent writers may overlap in
//! time; reads merge them into one order: (timestamp, chunk id, index), which is also what a
//! position in a token names.
//!
//! [`codec`] is the frame inside a chunk, [`write`] the PutLogEvents path, [`read`] the
//! GetLogEvents / FilterLogEvents path.

pub mod codec;
pub mod read;
pub mod write;

use serde::{Deserialize, Serialize};

pub use codec::{Dictionary, Encoded, chunks, decode_chunk, encode_chunk};
pub use read::Read;

/// Raw (uncompressed) bytes per chunk: a whole PutLogEvents batch (1 MB counting 26 bytes per
/// event; the frame takes fewer) is one chunk when its events span less than
/// [`CHUNK_SPAN_MAX`]. One frame compresses better than four of 300 KB (on the bench's
/// high-entropy lines 75 KB instead of 92 KB at level 19: more of a batch's repeats are in reach).
/// A frame that compresses to more than [`PART_BYTES`] continues in part items.
pub const CHUNK_RAW_MAX: usize = 1024 * 1024;
/// Compressed bytes per item; a chunk's frame beyond this goes to part items.
pub const PART_BYTES: usize = 320 * 1024;
/// The longest time one chunk's events may span.
pub const CHUNK_SPAN_MAX: i64 = 3_600_000;
const HOUR: i64 = 3_600_000;

/// How long DynamoDB keeps a chunk past its retention. Reads hide events at the retention itself;
/// the margin gives the worker a day to move TTLs after a retention is lengthened before DynamoDB
/// could delete an event the new retention keeps.
pub const TTL_GRACE_SECS: i64 = 86_400;

/// A chunk's TTL (epoch seconds) from its newest event and the group's retention; none without one.
pub fn chunk_expiry(max_ts: i64, retention_days: Option<i64>) -> Option<i64> {
    retention_days.map(|days| max_ts.div_euclid(1000) + 1 + days * 86_400 + TTL_GRACE_SECS)
}

/// A position in a stream's event order, (timestamp, ingestion time, chunk id, index): events
/// of one timestamp come back in the order they were ingested, as AWS gives them (chunk ids are
/// not time-ordered: a retried call derives the same id). Tokens carry it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pos {
    pub ts: i64,
    #[serde(default)]
    pub ing: i64,
    pub chunk: String,
    pub idx: u32,
}

impl Pos {
    /// Before every event / after every event.
    pub fn start() -> Pos {
        Pos { ts: -1, ing: i64::MIN, chunk: String::new(), idx: 0 }
    }
    pub fn end() -> Pos {
        Pos { ts: i64::MAX, ing: i64::MAX, chunk: String::new(), idx: 0 }
    }
}

/// A GetLogEvents position: a time (or the ends, -1 and `i64::MAX`), a chunk id, an index.
impl logbook_model::token::Cursor for Pos {
    fn in_range(&self) -> bool {
        self.ts >= -1 && (self.chunk.is_empty() || crate::is_id(&self.chunk, 32))
    }
}

/// An event's id as FilterLogEvents shows it and subscription deliveries carry it: the stream's
/// id, the time, the chunk and the index, so the two agree and ids never repeat.
pub fn event_id(stream_id: &str, ts: i64, chunk: &str, idx: u32) -> String {
    format!("{stream_id}{ts:013}{chunk}{idx:06}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub pos: Pos,
    pub message: String,
    pub ingestion_time: i64,
}

/// Reading direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_time_then_ingestion_then_chunk_then_index() {
        let mut v = [
            Pos { ts: 5, ing: 1, chunk: "B".into(), idx: 0 },
            Pos { ts: 5, ing: 1, chunk: "A".into(), idx: 1 },
            Pos { ts: 4, ing: 2, chunk: "Z".into(), idx: 9 },
            Pos { ts: 5, ing: 1, chunk: "A".into(), idx: 0 },
            Pos { ts: 5, ing: 0, chunk: "Z".into(), idx: 3 },
        ];
        v.sort();
        let keys: Vec<_> = v.iter().map(|p| (p.ts, p.ing, p.chunk.as_str(), p.idx)).collect();
        assert_eq!(keys, [(4, 2, "Z", 9), (5, 0, "Z", 3), (5, 1, "A", 0), (5, 1, "A", 1), (5, 1, "B", 0)]);
        assert!(Pos::start() < v[0] && v[4] < Pos::end());
    }
}
