//! What metric filters publish, without I/O: every event evaluated against its group's metric
//! filters, the contributions of one stored chunk summed into a [`Delta`], and deltas summed
//! into CloudWatch datapoints (statistic sets per metric, dimension set and minute).
//!
//! A delta is computed from a chunk and nothing else that changes (the filters are read once per
//! batch, as they were when the chunk was handled), so handling a chunk twice yields the same
//! delta: the fan-out stores it under the chunk's key, once, and the publisher counts it once.

use std::collections::BTreeMap;

use logbook_filter::FilterPattern;
use serde::{Deserialize, Serialize};

use crate::metric::MetricFilter;

pub const MINUTE_MS: i64 = 60_000;
/// CloudWatch refuses values beyond ±2^360 (and NaN and infinities).
const LARGEST: f64 = 2.348_542_582_773_833e108;
/// CloudWatch's longest dimension value.
const DIMENSION_VALUE_MAX: usize = 1024;

/// One datapoint's identity: a metric, its dimensions (sorted by name) and unit, and a minute.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bucket {
    #[serde(rename = "ns")]
    pub namespace: String,
    #[serde(rename = "m")]
    pub metric: String,
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<(String, String)>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The minute's first millisecond (event time, not ingestion time).
    #[serde(rename = "t")]
    pub minute: i64,
}

/// A datapoint: where it goes and what it holds.
pub type Point = (Bucket, Stat);

/// A statistic set, as PutMetricData takes it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub n: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn one(v: f64) -> Stat {
        Stat { n: 1.0, sum: v, min: v, max: v }
    }

    pub fn merge(&mut self, o: &Stat) {
        self.n += o.n;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// A filter with a `defaultValue` saw events in a minute (`matched`: and at least one matched).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Which filter (its group's id and its name): two filters on one metric decide apart.
    #[serde(rename = "f")]
    pub filter: String,
    #[serde(rename = "b")]
    pub bucket: Bucket,
    #[serde(rename = "v")]
    pub default: f64,
    #[serde(rename = "x")]
    pub matched: bool,
}

/// The contributions of one chunk's events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    #[serde(rename = "s", default)]
    pub stats: Vec<(Bucket, Stat)>,
    #[serde(rename = "q", default)]
    pub seen: Vec<Seen>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty() && self.seen.is_empty()
    }
}

/// A number CloudWatch takes: finite, within ±2^360.
pub fn metric_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() <= LARGEST)
}

enum ValueOf {
    Literal(f64),
    Field(String),
}

struct Compiled {
    id: String,
    since: i64,
    pattern: FilterPattern,
    value: ValueOf,
    /// (dimension name, the field its value comes from, or a literal value).
    dimensions: Vec<(String, String)>,
    namespace: String,
    metric: String,
    unit: Option<String>,
    default: Option<f64>,
    /// A literal value and no dimensions: matching is all it takes.
    reads_nothing: bool,
}

impl Compiled {
    fn bucket(&self, dimensions: Vec<(String, String)>, minute: i64) -> Bucket {
        Bucket {
            namespace: self.namespace.clone(),
            metric: self.metric.clone(),
            dimensions,
            unit: self.unit.clone(),
            minute,
        }
    }
}

/// A group's metric filters, compiled once for a batch of chunks.
pub struct Evaluator {
    filters: Vec<Compiled>,
}

impl Evaluator {
    /// `filters`: (the group's id, the filter). A filter whose pattern no longer parses, or
    /// whose value is neither a number nor a field, publishes nothing.
    pub fn new(group_id: &str, filters: &[MetricFilter]) -> Evaluator {
        let mut out = Vec::new();
        for f in filters {
            let (Ok(pattern), Some(t)) = (FilterPattern::parse(&f.filter_pattern), f.metric_transformations.first())
            else {
                continue;
            };
            let v = t.metric_value.trim();
            let value = match metric_number(v) {
                Some(n) => ValueOf::Literal(n),
                None if v.starts_with('$') => ValueOf::Field(v.to_owned()),
                None => continue,
            };
            let dimensions: Vec<(String, String)> =
                t.dimensions.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
            out.push(Compiled {
                reads_nothing: matches!(value, ValueOf::Literal(_)) && dimensions.is_empty(),
                id: format!("{group_id}/{}", f.filter_name),
                since: f.creation_time,
                pattern,
                value,
                dimensions,
                namespace: t.metric_namespace.clone(),
                metric: t.metric_name.clone(),
                unit: t.unit.clone().filter(|u| u != "None"),
                default: t.default_value,
            });
        }
        Evaluator { filters: out }
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The delta of events given as (timestamp, ingestion time, message). Events ingested before
    /// a filter existed do not count for it (no backfill, as in AWS).
    pub fn delta<'a>(&self, events: impl IntoIterator<Item = (i64, i64, &'a str)>) -> Delta {
        let mut stats: BTreeMap<Bucket, Stat> = BTreeMap::new();
        let mut seen: BTreeMap<(usize, i64), bool> = BTreeMap::new();
        // Filters that read no field, by (filter, minute): no key is built per event.
        let mut plain: BTreeMap<(usize, i64), Stat> = BTreeMap::new();
        for (ts, ing, message) in events {
            let minute = ts - ts.rem_euclid(MINUTE_MS);
            for (i, f) in self.filters.iter().enumerate() {
                if ing < f.since {
                    continue;
                }
                // A literal value without dimensions reads no field: the allocation-free match.
                if f.reads_nothing {
                    let matched = f.pattern.matches(message);
                    if f.default.is_some() {
                        *seen.entry((i, minute)).or_default() |= matched;
                    }
                    if let (true, ValueOf::Literal(v)) = (matched, &f.value) {
                        plain
                            .entry((i, minute))
                            .and_modify(|s| s.merge(&Stat::one(*v)))
                            .or_insert_with(|| Stat::one(*v));
                    }
                    continue;
                }
                let fields = f.pattern.fields(message);
                if f.default.is_some() {
                    *seen.entry((i, minute)).or_default() |= fields.is_some();
                }
                let Some(fields) = fields else { continue };
                let value = match &f.value {
                    ValueOf::Literal(v) => Some(*v),
                    ValueOf::Field(r) => fields.get(r).and_then(|t| metric_number(&t)),
                };
                // A match whose value is no number contributes nothing.
                let Some(value) = value else { continue };
                let mut dimensions = Vec::with_capacity(f.dimensions.len());
                for (name, from) in &f.dimensions {
                    let v = if from.trim_start().starts_with('$') {
                        fields.get(from).map(|v| v.into_owned())
                    } else {
                        Some(from.clone())
                    };
                    // A dimension whose field is missing (or that CloudWatch cannot take) drops
                    // the datum.
                    match v {
                        Some(v) if !v.trim().is_empty() && v.chars().count() <= DIMENSION_VALUE_MAX => {
                            dimensions.push((name.clone(), v))
                        }
                        _ => break,
                    }
                }
                if dimensions.len() != f.dimensions.len() {
                    continue;
                }
                dimensions.sort();
                let bucket = f.bucket(dimensions, minute);
                stats.entry(bucket).and_modify(|s| s.merge(&Stat::one(value))).or_insert_with(|| Stat::one(value));
            }
        }
        for ((i, minute), st) in plain {
            let bucket = self.filters[i].bucket(Vec::new(), minute);
            stats.entry(bucket).and_modify(|s| s.merge(&st)).or_insert(st);
        }
        let seen = seen
            .into_iter()
            .map(|((i, minute), matched)| {
                let f = &self.filters[i];
                Seen {
                    filter: f.id.clone(),
                    bucket: Bucket {
                        namespace: f.namespace.clone(),
                        metric: f.metric.clone(),
                        dimensions: Vec::new(),
                        unit: f.unit.clone(),
                        minute,
                    },
                    default: f.default.unwrap_or_default(),
                    matched,
                }
            })
            .collect();
        Delta { stats: stats.into_iter().collect(), seen }
    }
}

/// Deltas summed for one publication. A filter's `defaultValue` is published once for each
/// minute in which it saw events and none of them matched, across every delta of the round.
#[derive(Debug, Default)]
pub struct Round {
    stats: BTreeMap<Bucket, Stat>,
    seen: BTreeMap<(String, Bucket), (f64, bool)>,
}

impl Round {
    pub fn add(&mut self, d: &Delta) {
        for (b, s) in &d.stats {
            self.stats.entry(b.clone()).and_modify(|t| t.merge(s)).or_insert(*s);
        }
        for s in &d.seen {
            let e = self.seen.entry((s.filter.clone(), s.bucket.clone())).or_insert((s.default, false));
            e.1 |= s.matched;
        }
    }

    /// The datapoints, in a fixed order (so a round recomputed from the same deltas is the same).
    pub fn datapoints(&self) -> Vec<(Bucket, Stat)> {
        let mut out = self.stats.clone();
        for ((_, bucket), (default, matched)) in &self.seen {
            if !matched {
                out.entry(bucket.clone()).and_modify(|t| t.merge(&Stat::one(*default))).or_insert(Stat::one(*default));
            }
        }
        out.into_iter().collect()
    }
}

/// Datapoints cut into PutMetricData calls: one namespace per call, at most `per_call` each.
pub fn calls(points: Vec<(Bucket, Stat)>, per_call: usize) -> Vec<Vec<(Bucket, Stat)>> {
    let mut by_ns: BTreeMap<String, Vec<(Bucket, Stat)>> = BTreeMap::new();
    for p in points {
        by_ns.entry(p.0.namespace.clone()).or_default().push(p);
    }
    let mut out = Vec::new();
    for (_, mut points) in by_ns {
        while !points.is_empty() {
            let rest = points.split_off(points.len().min(per_call));
            out.push(std::mem::replace(&mut points, rest));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::MetricTransformation;

    fn filter(name: &str, pattern: &str, value: &str, dims: &[(&str, &str)], default: Option<f64>) -> MetricFilter {
        MetricFilter {
            filter_name: name.into(),
            filter_pattern: pattern.into(),
            metric_transformations: vec![MetricTransformation {
                metric_name: format!("{name}-metric"),
                metric_namespace: "NS".into(),
                metric_value: value.into(),
                default_value: default,
                unit: Some("Count".into()),
                dimensions: (!dims.is_empty())
                    .then(|| dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            }],
            creation_time: 1_000,
            log_group_name: "g".into(),
        }
    }

    const M0: i64 = 1_800_000_000_000 - 1_800_000_000_000 % MINUTE_MS;

    type Row = (String, Vec<(String, String)>, i64, Stat);

    fn stats(d: &Delta) -> Vec<Row> {
        d.stats.iter().map(|(b, s)| (b.metric.clone(), b.dimensions.clone(), b.minute - M0, *s)).collect()
    }

    #[test]
    fn values_dimensions_and_minutes() {
        let e = Evaluator::new(
            "gid",
            &[
                filter("term", "ERROR", "1", &[], None),
                filter("json", "{ $.latency > 0 }", "$.latency", &[], None),
                filter("size", "[ip, user, status, size]", "$size", &[("Status", "$status")], None),
            ],
        );
        let events = [
            (M0 + 1, 2_000, "ERROR one"),
            (M0 + 59_999, 2_000, "ERROR two"),
            (M0 + 60_000, 2_000, "ERROR next minute"),
            (M0 + 5, 2_000, r#"{"latency": 12.5}"#),
            (M0 + 6, 2_000, r#"{"latency": 7.5}"#),
            (M0 + 7, 2_000, r#"{"latency": "fast"}"#), // matches? no: not > 0
            (M0 + 8, 2_000, "1.2.3.4 bob 200 100"),
            (M0 + 9, 2_000, "1.2.3.4 bob 200 300"),
            (M0 + 10, 2_000, "1.2.3.4 bob 404 -"), // matched, not numeric: nothing
            (M0 + 11, 500, "ERROR before the filter existed"),
        ];
        let d = Evaluator::delta(&e, events);
        assert_eq!(
            stats(&d),
            vec![
                ("json-metric".into(), vec![], 0, Stat { n: 2.0, sum: 20.0, min: 7.5, max: 12.5 }),
                (
                    "size-metric".into(),
                    vec![("Status".into(), "200".into())],
                    0,
                    Stat { n: 2.0, sum: 400.0, min: 100.0, max: 300.0 }
                ),
                ("term-metric".into(), vec![], 0, Stat { n: 2.0, sum: 2.0, min: 1.0, max: 1.0 }),
                ("term-metric".into(), vec![], 60_000, Stat::one(1.0)),
            ]
        );
        assert!(d.seen.is_empty());
    }

    #[test]
    fn a_missing_dimension_drops_the_datum() {
        let e = Evaluator::new("gid", &[filter("j", "{ $.v = * }", "$.v", &[("Host", "$.host")], None)]);
        let d = e.delta([(M0, 2_000, r#"{"v": 3}"#), (M0, 2_000, r#"{"v": 4, "host": "a"}"#)]);
        assert_eq!(stats(&d), vec![("j-metric".into(), vec![("Host".into(), "a".into())], 0, Stat::one(4.0))]);
    }

    #[test]
    fn numbers_cloudwatch_takes() {
        for (text, want) in [
            ("1", Some(1.0)),
            (" 2.5 ", Some(2.5)),
            ("-3e2", Some(-300.0)),
            ("1e400", None),
            ("NaN", None),
            ("inf", None),
            ("12ms", None),
            ("", None),
        ] {
            assert_eq!(metric_number(text), want, "{text}");
        }
    }

    #[test]
    fn default_value_once_per_quiet_minute_across_the_round() {
        let e = Evaluator::new("gid", &[filter("d", "ERROR", "1", &[], Some(0.0))]);
        // Chunk 1: minute 0 quiet, minute 1 has a match. Chunk 2: minute 0 quiet again, minute 2
        // quiet, minute 1 quiet (but chunk 1 matched there).
        let d1 = e.delta([(M0, 2_000, "ok"), (M0 + 60_000, 2_000, "ERROR")]);
        let d2 = e.delta([(M0 + 1, 2_000, "ok"), (M0 + 120_000, 2_000, "ok"), (M0 + 60_001, 2_000, "fine")]);
        let mut r = Round::default();
        r.add(&d1);
        r.add(&d2);
        let points: Vec<(i64, Stat)> = r.datapoints().into_iter().map(|(b, s)| (b.minute - M0, s)).collect();
        assert_eq!(points, vec![(0, Stat::one(0.0)), (60_000, Stat::one(1.0)), (120_000, Stat::one(0.0))]);
        // The same deltas give the same round (a recovered publication recomputes it).
        let mut again = Round::default();
        again.add(&d1);
        again.add(&d2);
        assert_eq!(again.datapoints(), r.datapoints());
    }

    #[test]
    fn calls_keep_one_namespace_and_a_size() {
        let p = |ns: &str, m: i64| {
            (
                Bucket { namespace: ns.into(), metric: "m".into(), dimensions: vec![], unit: None, minute: m },
                Stat::one(1.0),
            )
        };
        let points = vec![p("A", 0), p("A", 1), p("A", 2), p("B", 0)];
        let c = calls(points, 2);
        let shape: Vec<Vec<(String, i64)>> =
            c.iter().map(|call| call.iter().map(|(b, _)| (b.namespace.clone(), b.minute)).collect()).collect();
        assert_eq!(shape, vec![vec![("A".into(), 0), ("A".into(), 1)], vec![("A".into(), 2)], vec![("B".into(), 0)]]);
    }

    #[test]
    fn deltas_round_trip_compactly() {
        let e = Evaluator::new("gid", &[filter("d", "ERROR", "1", &[], Some(0.0))]);
        let d = e.delta([(M0, 2_000, "ERROR"), (M0 + 60_000, 2_000, "ok")]);
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Delta>(&text).unwrap(), d);
        assert!(text.len() < 300, "{text}");
    }
}
