//! The chunk frame: how a batch of events becomes one compressed blob and back.
//!
//! Layouts (attribute `fmt`), the smaller of two chosen per chunk:
//! - format 2: count; each time as a delta from the previous; each message's length; the
//!   messages back to back.
//! - format 4: the same head, then each message split at spaces into fields (at most
//!   [`FIELDS`]), field *i* of every message stored together, each followed by a space; only the
//!   last column (the rest of a longer message, which may hold spaces) has lengths.
//! - format 3 (read only, written until format 4): as 4 with a length for every field.
//!
//! A chunk may name a dictionary (attribute `dict`): zstd trained on its group's own chunks, for
//! the short chunks shippers send (see [`Dictionary`]).

use std::sync::{Arc, OnceLock};

use logbook_model::events::Event;
use logbook_protocol::ApiError;

use super::{CHUNK_RAW_MAX, CHUNK_SPAN_MAX};

/// Level 19 for what is stored: every compressed KB is a write unit ($0.625 per million), and
/// level 19 costs CPU worth a small fraction of the units it saves (on the bench's lines: 100
/// high-entropy lines 3,466 → 2,927 B in ~3 ms; 4,600 of them 108 → 75 KB in ~150 ms, ~0.5¢ of
/// Lambda time per GB against ~1.2¢ of writes saved). `LOGBOOK_ZSTD_LEVEL` (1–19) trades the
/// other way: level 1 answers a full batch in ~10 ms instead of ~175 ms.
const STORE_LEVEL: i32 = 19;

/// The level chunks are stored at: [`STORE_LEVEL`] unless `LOGBOOK_ZSTD_LEVEL` says otherwise.
fn store_level() -> i32 {
    static LEVEL: OnceLock<i32> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        std::env::var("LOGBOOK_ZSTD_LEVEL")
            .ok()
            .and_then(|l| l.parse().ok())
            .map_or(STORE_LEVEL, |l: i32| l.clamp(1, 19))
    })
}
/// Level 1 to choose the layout: both frames compressed, only the smaller one again at
/// [`STORE_LEVEL`].
const TRIAL_LEVEL: i32 = 1;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Fields per message that formats 3 and 4 put in columns of their own; the rest of a longer
/// message stays together in the last column.
const FIELDS: usize = 32;

/// A zstd dictionary trained on one log group's chunks: immutable once stored, so a copy is
/// cached by key for the life of an instance. Short chunks gain most (on 100 web-access lines
/// ~2.2 KB → ~0.9 KB): without one, each chunk first teaches zstd its own lines.
pub struct Dictionary {
    pub id: String,
    bytes: Vec<u8>,
    enc: OnceLock<zstd::dict::EncoderDictionary<'static>>,
    dec: OnceLock<zstd::dict::DecoderDictionary<'static>>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionary").field("id", &self.id).field("bytes", &self.bytes.len()).finish()
    }
}

impl Dictionary {
    pub fn new(id: String, bytes: Vec<u8>) -> Arc<Dictionary> {
        Arc::new(Dictionary { id, bytes, enc: OnceLock::new(), dec: OnceLock::new() })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Trains a dictionary of at most `max_bytes` on the frames the encoder would write for
    /// `samples` (chunks' events); none when it would not make them smaller. The trainer's best
    /// size depends on how much it is given (on 1 MB of samples a 64 KB target came out worse
    /// than 16 KB; on 4 MB, better), so it trains at a few sizes and keeps the one that
    /// compresses every eighth sample, held out, smallest.
    pub fn train(id: String, samples: &[Vec<Event>], max_bytes: usize) -> Option<Arc<Dictionary>> {
        // Pieces of about a short chunk's size: zstd's trainer wants many samples, and short
        // chunks are the ones a dictionary serves.
        const PIECE: usize = 16 * 1024;
        /// Bytes of held-out frames compressed per candidate (level 19 is ~5 MB/s).
        const CHECK_BYTES: usize = 512 * 1024;
        let mut pieces = Vec::new();
        let mut held_out = Vec::new();
        for (i, events) in samples.iter().filter(|s| !s.is_empty()).enumerate() {
            let (whole, fields) = frames(events);
            let frame = if trial(&fields).ok()? < trial(&whole).ok()? { fields } else { whole };
            if i % 8 == 7 && held_out.iter().map(Vec::len).sum::<usize>() < CHECK_BYTES {
                held_out.push(frame);
            } else {
                pieces.extend(frame.chunks(PIECE).map(<[u8]>::to_vec));
            }
        }
        let total: usize = pieces.iter().map(Vec::len).sum();
        if pieces.len() < 8 || held_out.is_empty() {
            return None;
        }
        let size_with = |dictionary: Option<&[u8]>| -> Option<usize> {
            let mut z = match dictionary {
                Some(d) => zstd::bulk::Compressor::with_dictionary(store_level(), d).ok()?,
                None => zstd::bulk::Compressor::new(store_level()).ok()?,
            };
            held_out.iter().map(|f| z.compress(f).ok().map(|b| b.len())).sum()
        };
        let mut best = (size_with(None)?, None);
        // The trainer needs several times the dictionary's size of samples.
        for size in [16 * 1024, 32 * 1024, 64 * 1024].into_iter().filter(|s| *s <= max_bytes && s * 8 <= total) {
            let Ok(bytes) = zstd::dict::from_samples(&pieces, size) else { continue };
            if let Some(compressed) = size_with(Some(&bytes))
                && compressed < best.0
            {
                best = (compressed, Some(bytes));
            }
        }
        best.1.map(|bytes| Dictionary::new(id, bytes))
    }

    fn encoder(&self) -> &zstd::dict::EncoderDictionary<'static> {
        self.enc.get_or_init(|| zstd::dict::EncoderDictionary::copy(&self.bytes, store_level()))
    }

    fn decoder(&self) -> &zstd::dict::DecoderDictionary<'static> {
        self.dec.get_or_init(|| zstd::dict::DecoderDictionary::copy(&self.bytes))
    }
}

/// A compressed chunk frame, the layout it uses, its uncompressed length and the dictionary it
/// needs (by id), if any.
#[derive(Debug)]
pub struct Encoded {
    pub blob: Vec<u8>,
    pub format: i64,
    pub raw_len: usize,
    pub dictionary: Option<String>,
}

fn trial(raw: &[u8]) -> Result<usize, ApiError> {
    Ok(zstd::bulk::compress(raw, TRIAL_LEVEL).map_err(ApiError::internal)?.len())
}

/// Frames events column by column and compresses the frame, in whichever of two layouts
/// compresses smaller (a quick trial of both, then the smaller one at [`STORE_LEVEL`], with the
/// group's dictionary when it has one):
/// - format 2: count; each time as a delta from the previous; each message's length; the messages
///   back to back. Columns beat interleaving each event's header with its text by ~8%.
/// - format 4: the same, but each message split at spaces into fields (at most [`FIELDS`]), and
///   field *i* of every message stored together. Log lines share a shape, so a column holds
///   like with like (all the timestamps, all the request ids) and zstd finds ~30% more on
///   structured lines. Free text compresses worse that way, hence the choice per chunk. A space
///   after each field instead of its length saves another 7–10%.
pub fn encode_chunk(events: &[Event], dictionary: Option<&Dictionary>) -> Result<Encoded, ApiError> {
    let (whole, fields) = frames(events);
    let (raw, format) = if trial(&fields)? < trial(&whole)? { (fields, 4) } else { (whole, 2) };
    let blob = match dictionary {
        Some(d) => zstd::bulk::Compressor::with_prepared_dictionary(d.encoder()).and_then(|mut c| c.compress(&raw)),
        None => zstd::bulk::compress(&raw, store_level()),
    }
    .map_err(ApiError::internal)?;
    Ok(Encoded { blob, format, raw_len: raw.len(), dictionary: dictionary.map(|d| d.id.clone()) })
}

/// The format 2 and format 4 frames of `events`, uncompressed.
fn frames(events: &[Event]) -> (Vec<u8>, Vec<u8>) {
    let mut head = Vec::with_capacity(events.len() * 3 + 8);
    put_varint(&mut head, events.len() as u64);
    let mut prev = events.first().map_or(0, |e| e.timestamp);
    for e in events {
        put_varint(&mut head, (e.timestamp - prev) as u64);
        prev = e.timestamp;
    }

    let mut whole = head.clone();
    for e in events {
        put_varint(&mut whole, e.message.len() as u64);
    }
    for e in events {
        whole.extend_from_slice(e.message.as_bytes());
    }

    let mut fields = head;
    let mut columns: Vec<Vec<&str>> = vec![Vec::new(); FIELDS];
    for e in events {
        let mut count = 0;
        for (i, field) in e.message.splitn(FIELDS, ' ').enumerate() {
            columns[i].push(field);
            count += 1;
        }
        put_varint(&mut fields, count as u64);
    }
    // Only the last column's fields may hold spaces.
    for field in &columns[FIELDS - 1] {
        put_varint(&mut fields, field.len() as u64);
    }
    for (i, column) in columns.iter().enumerate() {
        for field in column {
            fields.extend_from_slice(field.as_bytes());
            if i < FIELDS - 1 {
                fields.push(b' ');
            }
        }
    }
    (whole, fields)
}

/// The (timestamp, message) pairs of a chunk whose first event is at `first`, in layout `format`,
/// compressed with `dictionary` when the chunk names one. A frame that does not decode is
/// corruption (an internal error), never a panic.
pub fn decode_chunk(
    blob: &[u8],
    first: i64,
    raw_len: usize,
    format: i64,
    dictionary: Option<&Dictionary>,
) -> Result<Vec<(i64, String)>, ApiError> {
    let capacity = raw_len.max(16);
    let raw = match dictionary {
        Some(d) => zstd::bulk::Decompressor::with_prepared_dictionary(d.decoder())
            .and_then(|mut z| z.decompress(blob, capacity)),
        None => zstd::bulk::decompress(blob, capacity),
    }
    .map_err(ApiError::internal)?;
    let corrupt = || ApiError::internal("corrupt event chunk");
    let mut at = 0;
    let count = get_varint(&raw, &mut at).ok_or_else(corrupt)? as usize;
    // Every event takes at least two bytes of frame: a count beyond that is corruption.
    if count > raw.len() {
        return Err(corrupt());
    }
    // Every release wrote format 2, 3 or 4 (the `fmt` attribute); anything else is corruption.
    if !(2..=4).contains(&format) {
        return Err(corrupt());
    }
    let mut out = Vec::with_capacity(count);
    let mut times = Vec::with_capacity(count);
    let mut ts = first;
    for _ in 0..count {
        ts += get_varint(&raw, &mut at).ok_or_else(corrupt)? as i64;
        times.push(ts);
    }
    if format == 2 {
        let mut lens = Vec::with_capacity(count);
        for _ in 0..count {
            lens.push(get_varint(&raw, &mut at).ok_or_else(corrupt)? as usize);
        }
        for (ts, len) in times.into_iter().zip(lens) {
            out.push((ts, text(&raw, &mut at, len).ok_or_else(corrupt)?.to_owned()));
        }
        return Ok(out);
    }
    // Formats 3 and 4: field counts, then the columns' field lengths (format 3: all; format 4:
    // the last column's), then each column's bytes (format 4: each field followed by a space).
    let mut counts = Vec::with_capacity(count);
    for _ in 0..count {
        let c = get_varint(&raw, &mut at).ok_or_else(corrupt)? as usize;
        if c == 0 || c > FIELDS {
            return Err(corrupt());
        }
        counts.push(c);
    }
    let with_lengths = if format == 3 { 0 } else { FIELDS - 1 };
    let mut lens: Vec<Vec<usize>> = vec![Vec::new(); FIELDS];
    for (i, column) in lens.iter_mut().enumerate().skip(with_lengths) {
        for _ in counts.iter().filter(|c| **c > i) {
            column.push(get_varint(&raw, &mut at).ok_or_else(corrupt)? as usize);
        }
    }
    // Format 4: the space-ended columns' lengths, found by scanning.
    if format == 4 {
        for (i, column) in lens.iter_mut().enumerate().take(FIELDS - 1) {
            for _ in counts.iter().filter(|c| **c > i) {
                let rest = raw.get(at..).ok_or_else(corrupt)?;
                let len = rest.iter().position(|b| *b == b' ').ok_or_else(corrupt)?;
                column.push(len);
                at += len + 1;
            }
        }
    }
    let mut messages: Vec<String> = Vec::with_capacity(count);
    let mut starts = vec![0usize; FIELDS];
    // Rewind to the first column's bytes and find where each column starts.
    let sep = usize::from(format == 4);
    let column_bytes: usize = lens
        .iter()
        .enumerate()
        .map(|(i, c)| c.iter().sum::<usize>() + if i < FIELDS - 1 { c.len() * sep } else { 0 })
        .sum();
    if format == 4 {
        let last: usize = lens[FIELDS - 1].iter().sum();
        // `at` stands after the space-ended columns; the last column follows.
        at = at.checked_sub(column_bytes - last).ok_or_else(corrupt)?;
    }
    for (i, column) in lens.iter().enumerate() {
        starts[i] = at;
        let step = if i < FIELDS - 1 { sep } else { 0 };
        at = column.iter().try_fold(at, |a, l| a.checked_add(*l + step)).ok_or_else(corrupt)?;
    }
    if at > raw.len() {
        return Err(corrupt());
    }
    let mut next = vec![0usize; FIELDS];
    for c in &counts {
        let len = (0..*c).map(|i| lens[i][next[i]]).sum::<usize>() + c - 1;
        let mut message = String::with_capacity(len);
        for i in 0..*c {
            if i > 0 {
                message.push(' ');
            }
            let len = lens[i][next[i]];
            next[i] += 1;
            message.push_str(text(&raw, &mut starts[i], len).ok_or_else(corrupt)?);
            if i < FIELDS - 1 {
                starts[i] += sep;
            }
        }
        messages.push(message);
    }
    Ok(times.into_iter().zip(messages).collect())
}

/// The `len` bytes of `raw` at `at` as text, moving `at` past them.
fn text<'a>(raw: &'a [u8], at: &mut usize, len: usize) -> Option<&'a str> {
    let bytes = raw.get(*at..at.checked_add(len)?)?;
    *at += len;
    std::str::from_utf8(bytes).ok()
}

/// Splits time-ordered events into chunks by raw size and time span.
pub fn chunks(events: &[Event]) -> Vec<&[Event]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, e) in events.iter().enumerate() {
        let size = e.message.len() + 12;
        if i > start && (bytes + size > CHUNK_RAW_MAX || e.timestamp - events[start].timestamp > CHUNK_SPAN_MAX) {
            out.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, m: &str) -> Event {
        Event { timestamp: ts, message: m.into() }
    }

    fn round_trip(events: &[Event]) -> Encoded {
        let encoded = encode_chunk(events, None).unwrap();
        let back = decode_chunk(&encoded.blob, events[0].timestamp, encoded.raw_len, encoded.format, None).unwrap();
        assert_eq!(back, events.iter().map(|e| (e.timestamp, e.message.clone())).collect::<Vec<_>>());
        encoded
    }

    #[test]
    fn chunks_round_trip() {
        let events = vec![ev(1000, "a"), ev(1000, "é ünïcode"), ev(5000, &"x".repeat(70_000)), ev(9999, "")];
        let encoded = round_trip(&events);
        assert!(encoded.blob.len() < 1000, "repetitive text compresses: {}", encoded.blob.len());
        let cut = &encoded.blob[..encoded.blob.len() / 2];
        assert!(decode_chunk(cut, 1000, encoded.raw_len, encoded.format, None).is_err(), "truncated");
    }

    #[test]
    fn both_layouts_round_trip_exactly() {
        // Spaces at the ends, runs of spaces, more fields than columns, tabs and NULs in fields.
        let many = (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
        let cases = [" lead", "trail ", "a  b", "   ", " ", "x", &many, "tab\tnul\0 end", "ünï cöde ✓", ""];
        let events: Vec<Event> = cases.iter().enumerate().map(|(i, m)| ev(7 + i as i64, m)).collect();
        let (whole, fields) = frames(&events);
        let want: Vec<(i64, String)> = events.iter().map(|e| (e.timestamp, e.message.clone())).collect();
        for (format, raw) in [(2, whole), (3, format3(&events)), (4, fields)] {
            let blob = zstd::bulk::compress(&raw, 1).unwrap();
            assert_eq!(decode_chunk(&blob, 7, raw.len(), format, None).unwrap(), want, "format {format}");
            // A frame cut short is corruption, never a panic.
            for cut in [1, raw.len() / 3, raw.len() / 2, raw.len() - 1] {
                let blob = zstd::bulk::compress(&raw[..cut], 1).unwrap();
                assert!(decode_chunk(&blob, 7, cut, format, None).is_err(), "format {format} cut at {cut}");
            }
        }
        round_trip(&events);
    }

    #[test]
    fn structured_lines_pick_the_field_layout_and_free_text_the_whole_one() {
        let lines: Vec<Event> = (0..2000)
            .map(|i: u64| {
                let x = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ev(
                    i as i64,
                    &format!(
                        "12:{:02}:{:02} INFO [req-{x:016x}] GET /items/{} status=200",
                        x % 60,
                        (x >> 8) % 60,
                        x >> 40
                    ),
                )
            })
            .collect();
        assert_eq!(round_trip(&lines).format, 4);
        let prose: Vec<Event> = (0..2000)
            .map(|i: u64| {
                let words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "again"];
                let n = (i * 7 % 5 + 1) as usize;
                ev(i as i64, &(0..n).map(|k| words[(i as usize * 3 + k * 5) % 9]).collect::<Vec<_>>().join(" "))
            })
            .collect();
        let encoded = round_trip(&prose);
        let (whole, fields) = frames(&prose);
        let smaller = [whole, fields].iter().map(|raw| zstd::bulk::compress(raw, store_level()).unwrap().len()).min();
        assert_eq!(Some(encoded.blob.len()), smaller, "the smaller layout is kept");
    }

    /// The format 3 frame as releases before format 4 wrote it: a length for every field.
    fn format3(events: &[Event]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, events.len() as u64);
        let mut prev = events[0].timestamp;
        for e in events {
            put_varint(&mut out, (e.timestamp - prev) as u64);
            prev = e.timestamp;
        }
        let mut columns: Vec<Vec<&str>> = vec![Vec::new(); FIELDS];
        for e in events {
            let fields: Vec<&str> = e.message.splitn(FIELDS, ' ').collect();
            put_varint(&mut out, fields.len() as u64);
            for (i, f) in fields.into_iter().enumerate() {
                columns[i].push(f);
            }
        }
        for column in &columns {
            for f in column {
                put_varint(&mut out, f.len() as u64);
            }
        }
        for column in &columns {
            for f in column {
                out.extend_from_slice(f.as_bytes());
            }
        }
        out
    }

    fn access(i: u64) -> Event {
        let x = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ev(
            i as i64,
            &format!(
                "2026-11-20T12:{:02}:{:02}Z INFO [req-{x:016x}] GET /api/v1/items/{} status=200 latency_ms={} host=web-{}",
                x % 60,
                (x >> 8) % 60,
                (x >> 19) % 100_000,
                (x >> 23) % 2_000,
                (x >> 37) % 32
            ),
        )
    }

    #[test]
    fn a_trained_dictionary_shrinks_short_chunks_and_is_needed_to_read_them() {
        let samples: Vec<Vec<Event>> =
            (0..60u64).map(|b| (0..100).map(|i| access(10_000 + b * 100 + i)).collect()).collect();
        let dictionary = Dictionary::train("d1".into(), &samples, 64 * 1024).expect("trained");
        assert!(dictionary.bytes().len() <= 64 * 1024);
        let batch: Vec<Event> = (0..100).map(access).collect();
        let plain = encode_chunk(&batch, None).unwrap();
        let with = encode_chunk(&batch, Some(&dictionary)).unwrap();
        assert_eq!(with.dictionary.as_deref(), Some("d1"));
        assert!(with.blob.len() * 10 < plain.blob.len() * 9, "{} vs {}", with.blob.len(), plain.blob.len());
        let want: Vec<(i64, String)> = batch.iter().map(|e| (e.timestamp, e.message.clone())).collect();
        assert_eq!(decode_chunk(&with.blob, 0, with.raw_len, with.format, Some(&dictionary)).unwrap(), want);
        assert!(decode_chunk(&with.blob, 0, with.raw_len, with.format, None).is_err(), "needs its dictionary");
        // Too little to learn from: no dictionary.
        assert!(Dictionary::train("d2".into(), &samples[..2], 64 * 1024).is_none());
    }

    #[test]
    fn varints() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut at = 0;
            assert_eq!(get_varint(&buf, &mut at), Some(v));
            assert_eq!(at, buf.len());
        }
        assert_eq!(get_varint(&[0x80], &mut 0), None, "truncated");
    }

    #[test]
    fn chunking_bounds_size_and_span() {
        let big = "y".repeat(CHUNK_RAW_MAX * 2 / 3);
        let events =
            vec![ev(0, &big), ev(1, &big), ev(2, "s"), ev(CHUNK_SPAN_MAX + 3, "t"), ev(CHUNK_SPAN_MAX + 4, "u")];
        let parts = chunks(&events);
        let sizes: Vec<usize> = parts.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [1, 2, 2]);
        for c in &parts {
            assert!(c.last().unwrap().timestamp - c[0].timestamp <= CHUNK_SPAN_MAX);
            assert!(c.iter().map(|e| e.message.len()).sum::<usize>() <= CHUNK_RAW_MAX);
        }
        assert!(chunks(&[]).is_empty());
    }
}
