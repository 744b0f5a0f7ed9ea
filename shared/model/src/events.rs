//! Log events: PutLogEvents validation (which events are stored, which rejected and why) and
//! GetLogEvents requests.

use logbook_protocol::ApiError;
use serde::{Deserialize, Serialize};

use crate::validate::Violations;

pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The largest event: the spec names no per-event limit, and today's AWS allows 1 MB, so one event
/// may fill the whole batch. The batch check enforces it; storage splits such events over items.
pub const MAX_EVENT_BYTES: usize = MAX_BATCH_BYTES - EVENT_OVERHEAD;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// How far ahead of its ingestion an event may be (later ones are rejected as too new), ms.
pub const MAX_FUTURE_MS: i64 = 2 * HOUR;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputLogEvent {
    pub timestamp: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsRequest {
    pub log_group_name: Option<String>,
    pub log_stream_name: Option<String>,
    pub log_events: Option<Vec<InputLogEvent>>,
    /// Ignored, as AWS has ignored it since 2023; any value (or none) is accepted.
    pub sequence_token: Option<String>,
}

/// An event accepted for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub timestamp: i64,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedLogEventsInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_new_log_event_start_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_old_log_event_end_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_log_event_end_index: Option<usize>,
}

impl RejectedLogEventsInfo {
    pub fn is_empty(&self) -> bool {
        *self == RejectedLogEventsInfo::default()
    }
}

/// A request checked for shape: names and the raw events, before the group's retention is known.
pub struct PutLogEvents {
    pub group: String,
    pub stream: String,
    events: Vec<(i64, String)>,
}

impl PutLogEventsRequest {
    pub fn validate(self) -> Result<PutLogEvents, ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        let stream = v.required("logStreamName", self.log_stream_name.as_deref());
        v.stream_name("logStreamName", stream);
        let events = self.log_events.unwrap_or_default();
        if self.log_stream_name.is_some() && events.is_empty() {
            v.push("logEvents", Some("[]"), "Member must have length greater than or equal to 1");
        }
        if events.len() > MAX_BATCH_EVENTS {
            v.push(
                "logEvents",
                Some(&format!("{} events", events.len())),
                &format!("Member must have length less than or equal to {MAX_BATCH_EVENTS}"),
            );
        }
        let mut out = Vec::with_capacity(events.len());
        for (i, e) in events.into_iter().enumerate() {
            let at = |m: &str| format!("logEvents.{}.member.{m}", i + 1);
            let ts = e.timestamp.map(|t| t.to_string());
            v.required(&at("timestamp"), ts.as_deref());
            let message = v.required(&at("message"), e.message.as_deref());
            v.length(&at("message"), message, 1, usize::MAX);
            if let Some(t) = e.timestamp
                && t < 0
            {
                v.push(&at("timestamp"), Some(&t.to_string()), "Member must have value greater than or equal to 0");
            }
            out.push((e.timestamp.unwrap_or_default(), e.message.unwrap_or_default()));
        }
        v.finish()?;
        let bytes: usize = out.iter().map(|(_, m)| m.len() + EVENT_OVERHEAD).sum();
        if bytes > MAX_BATCH_BYTES {
            return Err(ApiError::invalid_parameter(format!(
                "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )));
        }
        if out.windows(2).any(|w| w[1].0 < w[0].0) {
            return Err(ApiError::invalid_parameter(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        Ok(PutLogEvents {
            group: self.log_group_name.unwrap_or_default(),
            stream: self.log_stream_name.unwrap_or_default(),
            events: out,
        })
    }
}

impl PutLogEvents {
    /// Splits the batch into the events to store and the rejected ranges, at `now` for a group
    /// keeping events `retention_days` (None: forever). Events are in time order, so the too-old
    /// and expired ones are a prefix and the too-new ones a suffix.
    pub fn accept(
        self,
        now: i64,
        retention_days: Option<i64>,
    ) -> Result<(Vec<Event>, RejectedLogEventsInfo), ApiError> {
        let mut info = RejectedLogEventsInfo::default();
        let too_old = now - 14 * DAY;
        let expired = retention_days.map(|d| now - d * DAY);
        let too_new = now + MAX_FUTURE_MS;
        let mut first = 0;
        let mut end = self.events.len();
        for (i, (t, _)) in self.events.iter().enumerate() {
            if expired.is_some_and(|e| *t < e) {
                info.expired_log_event_end_index = Some(i);
                first = i + 1;
            } else if *t < too_old {
                info.too_old_log_event_end_index = Some(i);
                first = i + 1;
            }
        }
        if let Some(i) = self.events.iter().position(|(t, _)| *t > too_new) {
            info.too_new_log_event_start_index = Some(i);
            end = end.min(i);
        }
        let accepted: Vec<Event> = self
            .events
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i >= first && *i < end)
            .map(|(_, (timestamp, message))| Event { timestamp, message })
            .collect();
        if let (Some(a), Some(b)) = (accepted.first(), accepted.last())
            && b.timestamp - a.timestamp > DAY
        {
            return Err(ApiError::invalid_parameter(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        Ok((accepted, info))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsRequest {
    pub log_group_name: Option<String>,
    /// Today's API: the group's name or ARN (see [`crate::identifiers`]).
    pub log_group_identifier: Option<String>,
    pub log_stream_name: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub start_from_head: Option<bool>,
}

pub struct GetLogEvents {
    pub group: String,
    pub stream: String,
    /// Inclusive.
    pub start: Option<i64>,
    /// Exclusive.
    pub end: Option<i64>,
    pub next_token: Option<String>,
    pub limit: usize,
    pub start_from_head: bool,
}

impl crate::identifiers::NamesGroup for GetLogEventsRequest {
    fn group_members(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.log_group_name, &mut self.log_group_identifier)
    }
}

impl GetLogEventsRequest {
    pub fn validate(self) -> Result<GetLogEvents, ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        let stream = v.required("logStreamName", self.log_stream_name.as_deref());
        v.stream_name("logStreamName", stream);
        v.range("limit", self.limit, 1, MAX_BATCH_EVENTS as i64);
        v.range("startTime", self.start_time, 0, i64::MAX);
        v.range("endTime", self.end_time, 0, i64::MAX);
        v.finish()?;
        Ok(GetLogEvents {
            group: self.log_group_name.unwrap_or_default(),
            stream: self.log_stream_name.unwrap_or_default(),
            start: self.start_time,
            end: self.end_time,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(MAX_BATCH_EVENTS as i64) as usize,
            start_from_head: self.start_from_head.unwrap_or(false),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsRequest {
    pub log_group_name: Option<String>,
    /// Today's API: the group's name or ARN (see [`crate::identifiers`]).
    pub log_group_identifier: Option<String>,
    pub log_stream_names: Option<Vec<String>>,
    pub log_stream_name_prefix: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub filter_pattern: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    /// Accepted and ignored: results are always interleaved by time, as AWS now does.
    pub interleaved: Option<bool>,
}

pub struct FilterLogEvents {
    pub group: String,
    pub streams: Option<Vec<String>>,
    pub prefix: Option<String>,
    /// Inclusive.
    pub start: Option<i64>,
    /// Inclusive.
    pub end: Option<i64>,
    pub pattern: logbook_filter::FilterPattern,
    pub next_token: Option<String>,
    pub limit: usize,
    /// What a token is bound to: the query's parameters.
    pub fingerprint: String,
}

impl crate::identifiers::NamesGroup for FilterLogEventsRequest {
    fn group_members(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.log_group_name, &mut self.log_group_identifier)
    }
}

impl FilterLogEventsRequest {
    pub fn validate(self) -> Result<FilterLogEvents, ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        if let Some(names) = &self.log_stream_names {
            if names.is_empty() || names.len() > 100 {
                v.push(
                    "logStreamNames",
                    Some(&format!("{} names", names.len())),
                    if names.is_empty() {
                        "Member must have length greater than or equal to 1"
                    } else {
                        "Member must have length less than or equal to 100"
                    },
                );
            }
            for n in names {
                v.stream_name("logStreamNames", Some(n));
            }
        }
        v.stream_name("logStreamNamePrefix", self.log_stream_name_prefix.as_deref());
        v.range("startTime", self.start_time, 0, i64::MAX);
        v.range("endTime", self.end_time, 0, i64::MAX);
        v.length("filterPattern", self.filter_pattern.as_deref(), 0, logbook_filter::MAX_PATTERN_CHARS);
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, MAX_BATCH_EVENTS as i64);
        v.finish()?;
        if self.log_stream_names.is_some() && self.log_stream_name_prefix.is_some() {
            return Err(ApiError::invalid_parameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive; specify at most one.",
            ));
        }
        let pattern = crate::metric::parse_pattern(self.filter_pattern.as_deref().unwrap_or(""))?;
        let fingerprint = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            self.log_stream_names, self.log_stream_name_prefix, self.start_time, self.end_time, self.filter_pattern
        );
        Ok(FilterLogEvents {
            group: self.log_group_name.unwrap_or_default(),
            streams: self.log_stream_names,
            prefix: self.log_stream_name_prefix,
            start: self.start_time,
            end: self.end_time,
            pattern,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(MAX_BATCH_EVENTS as i64) as usize,
            fingerprint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(ts: &[i64]) -> PutLogEventsRequest {
        PutLogEventsRequest {
            log_group_name: Some("g".into()),
            log_stream_name: Some("s".into()),
            log_events: Some(
                ts.iter().map(|t| InputLogEvent { timestamp: Some(*t), message: Some("m".into()) }).collect(),
            ),
            sequence_token: None,
        }
    }

    #[test]
    fn byte_limit_is_exact() {
        let exact = MAX_BATCH_BYTES / 4 - EVENT_OVERHEAD; // four events filling the batch exactly
        let mk = |extra: usize| PutLogEventsRequest {
            log_group_name: Some("g".into()),
            log_stream_name: Some("s".into()),
            log_events: Some(
                (0..4)
                    .map(|i| InputLogEvent {
                        timestamp: Some(1),
                        message: Some("x".repeat(exact + if i == 0 { extra } else { 0 })),
                    })
                    .collect(),
            ),
            sequence_token: None,
        };
        assert!(mk(0).validate().is_ok());
        let e = mk(1).validate().err().unwrap();
        assert_eq!(e.message, "Upload too large: 1048577 bytes exceeds limit of 1048576");
        // One event may fill the batch (1 MB with its 26 bytes, as today's AWS allows); multi-byte
        // characters count as UTF-8 bytes.
        let one = |message: String| PutLogEventsRequest {
            log_events: Some(vec![InputLogEvent { timestamp: Some(1), message: Some(message) }]),
            ..batch(&[])
        };
        assert!(one("x".repeat(MAX_EVENT_BYTES)).validate().is_ok());
        assert!(one("é".repeat(MAX_EVENT_BYTES / 2 + 1)).validate().is_err());
    }

    #[test]
    fn order_is_checked_on_the_whole_batch() {
        assert!(batch(&[4, 4, 5]).validate().is_ok(), "equal timestamps are in order");
        assert_eq!(
            batch(&[5, 4]).validate().err().unwrap().message,
            "Log events in a single PutLogEvents request must be in chronological order."
        );
    }

    #[test]
    fn rejected_indexes() {
        let now = 100 * DAY;
        let cases: Vec<(Vec<i64>, Option<i64>, usize, RejectedLogEventsInfo)> = vec![
            (vec![now - HOUR, now], None, 2, RejectedLogEventsInfo::default()),
            (
                vec![now - 15 * DAY, now - 14 * DAY - 1, now - HOUR],
                None,
                1,
                RejectedLogEventsInfo { too_old_log_event_end_index: Some(1), ..Default::default() },
            ),
            (
                vec![now - 10 * DAY, now - 5 * HOUR, now - HOUR],
                Some(7),
                2,
                RejectedLogEventsInfo { expired_log_event_end_index: Some(0), ..Default::default() },
            ),
            (
                vec![now, now + 2 * HOUR, now + 2 * HOUR + 1, now + 3 * HOUR],
                None,
                2,
                RejectedLogEventsInfo { too_new_log_event_start_index: Some(2), ..Default::default() },
            ),
        ];
        for (i, (ts, retention, kept, want)) in cases.into_iter().enumerate() {
            let (ok, info) = batch(&ts).validate().unwrap().accept(now, retention).unwrap();
            assert_eq!((ok.len(), info), (kept, want), "case {i}");
        }
        // Span is checked on what is kept.
        let e = batch(&[now - 2 * DAY, now - DAY - 1, now]).validate().unwrap().accept(now, None).err().unwrap();
        assert!(e.message.contains("24 hours"));
        assert!(batch(&[now - 20 * DAY, now - DAY, now]).validate().unwrap().accept(now, None).is_ok());
    }
}
