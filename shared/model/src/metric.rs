//! Metric filters and TestMetricFilter: requests, validation, and the stored filter.

use logbook_filter::{FilterPattern, MAX_PATTERN_CHARS};
use logbook_protocol::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::Violations;

pub const MAX_FILTERS_PER_GROUP: i64 = 100;
pub const FILTER_MISSING: &str = "The specified metric filter does not exist.";
const METRIC_NAME_PATTERN: &str = r"[^:*$]*";
/// AWS documents the namespace with the metric name's pattern, but accepts (and returns) a `:`
/// in it: only `*` and `$` are refused.
const METRIC_NAMESPACE_PATTERN: &str = r"[^*$]*";
/// A metric filter publishes at most this many dimensions.
pub const MAX_DIMENSIONS: usize = 3;
/// CloudWatch's units (`StandardUnit`).
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Parses a pattern, turning a syntax error into AWS's `InvalidParameterException`.
pub fn parse_pattern(pattern: &str) -> Result<FilterPattern, ApiError> {
    FilterPattern::parse(pattern).map_err(|e| ApiError::invalid_parameter(e.to_string()))
}

/// A metric filter as stored and as DescribeMetricFilters shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricFilter {
    pub filter_name: String,
    pub filter_pattern: String,
    pub metric_transformations: Vec<MetricTransformation>,
    pub creation_time: i64,
    pub log_group_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTransformation {
    pub metric_name: String,
    pub metric_namespace: String,
    pub metric_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTransformationIn {
    pub metric_name: Option<String>,
    pub metric_namespace: Option<String>,
    pub metric_value: Option<String>,
    pub default_value: Option<f64>,
    pub unit: Option<String>,
    pub dimensions: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMetricFilterRequest {
    pub log_group_name: Option<String>,
    pub filter_name: Option<String>,
    pub filter_pattern: Option<String>,
    pub metric_transformations: Option<Vec<MetricTransformationIn>>,
}

impl PutMetricFilterRequest {
    /// The validated filter (creation time left 0 for the caller to set).
    pub fn validate(self) -> Result<MetricFilter, ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        let name = v.required("filterName", self.filter_name.as_deref());
        v.resource_name("filterName", name);
        let pattern = v.required("filterPattern", self.filter_pattern.as_deref());
        v.length("filterPattern", pattern, 0, MAX_PATTERN_CHARS);
        let transformations = self.metric_transformations.unwrap_or_default();
        if transformations.is_empty() {
            v.push("metricTransformations", None, "Member must not be null");
        } else if transformations.len() > 1 {
            v.push(
                "metricTransformations",
                Some(&format!("{} items", transformations.len())),
                "Member must have length less than or equal to 1",
            );
        }
        for (i, t) in transformations.iter().enumerate() {
            let at = |m: &str| format!("metricTransformations.{}.member.{m}", i + 1);
            let name = v.required(&at("metricName"), t.metric_name.as_deref());
            v.length(&at("metricName"), name, 0, 255);
            v.pattern(&at("metricName"), name, |s| !s.contains([':', '*', '$']), METRIC_NAME_PATTERN);
            let namespace = v.required(&at("metricNamespace"), t.metric_namespace.as_deref());
            v.length(&at("metricNamespace"), namespace, 0, 255);
            v.pattern(&at("metricNamespace"), namespace, |s| !s.contains(['*', '$']), METRIC_NAMESPACE_PATTERN);
            let value = v.required(&at("metricValue"), t.metric_value.as_deref());
            v.length(&at("metricValue"), value, 0, 100);
            v.one_of(&at("unit"), t.unit.as_deref(), UNITS);
            if let Some(d) = &t.dimensions {
                v.count(&at("dimensions"), d.len(), 0, MAX_DIMENSIONS);
                for (key, value) in d {
                    v.length(&at("dimensions.key"), Some(key), 1, 255);
                    v.length(&at("dimensions.value"), Some(value), 1, 255);
                }
            }
        }
        v.finish()?;

        let pattern_text = self.filter_pattern.unwrap_or_default();
        let compiled = parse_pattern(&pattern_text)?;
        let t = transformations.into_iter().next().unwrap_or_default();
        if t.default_value.is_some() && t.dimensions.as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(ApiError::invalid_parameter(
                "Invalid metric transformation: a metric filter with dimensions cannot also have a default value.",
            ));
        }
        let value = t.metric_value.unwrap_or_default();
        let numeric = value.trim().parse::<f64>().is_ok_and(f64::is_finite);
        // Any `$.path` goes with a JSON pattern, named there or not (AWS accepts it, and an
        // event without the path contributes nothing).
        let json_path = compiled.is_json() && value.trim().starts_with("$.");
        if !numeric && !json_path && !compiled.can_produce(&value) {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid metric value '{value}': use a number, or a field ($name, $N or $.path) that the filter \
                 pattern extracts."
            )));
        }
        Ok(MetricFilter {
            filter_name: self.filter_name.unwrap_or_default(),
            filter_pattern: pattern_text,
            metric_transformations: vec![MetricTransformation {
                metric_name: t.metric_name.unwrap_or_default(),
                metric_namespace: t.metric_namespace.unwrap_or_default(),
                metric_value: value,
                default_value: t.default_value,
                unit: t.unit,
                dimensions: t.dimensions,
            }],
            creation_time: 0,
            log_group_name: self.log_group_name.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteMetricFilterRequest {
    pub log_group_name: Option<String>,
    pub filter_name: Option<String>,
}

impl DeleteMetricFilterRequest {
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut v = Violations::new();
        let group = v.required("logGroupName", self.log_group_name.as_deref());
        v.group_name("logGroupName", group);
        let name = v.required("filterName", self.filter_name.as_deref());
        v.resource_name("filterName", name);
        v.finish()?;
        Ok((self.log_group_name.unwrap_or_default(), self.filter_name.unwrap_or_default()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeMetricFiltersRequest {
    pub log_group_name: Option<String>,
    pub filter_name_prefix: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub metric_name: Option<String>,
    pub metric_namespace: Option<String>,
}

pub struct DescribeMetricFilters {
    pub group: Option<String>,
    /// Applies only together with a group, as in AWS.
    pub prefix: Option<String>,
    pub metric: Option<(String, String)>,
    pub next_token: Option<String>,
    pub limit: usize,
}

impl DescribeMetricFiltersRequest {
    pub fn validate(self) -> Result<DescribeMetricFilters, ApiError> {
        let mut v = Violations::new();
        v.group_name("logGroupName", self.log_group_name.as_deref());
        v.resource_name("filterNamePrefix", self.filter_name_prefix.as_deref());
        v.length("nextToken", self.next_token.as_deref(), 1, usize::MAX);
        v.range("limit", self.limit, 1, 50);
        v.length("metricName", self.metric_name.as_deref(), 0, 255);
        v.pattern("metricName", self.metric_name.as_deref(), |s| !s.contains([':', '*', '$']), METRIC_NAME_PATTERN);
        v.length("metricNamespace", self.metric_namespace.as_deref(), 0, 255);
        v.pattern(
            "metricNamespace",
            self.metric_namespace.as_deref(),
            |s| !s.contains(['*', '$']),
            METRIC_NAMESPACE_PATTERN,
        );
        v.finish()?;
        let metric = match (self.metric_name, self.metric_namespace) {
            (Some(n), Some(ns)) => Some((ns, n)),
            (None, None) => None,
            _ => {
                return Err(ApiError::invalid_parameter(
                    "If you include the metricName parameter in your request, you must also include the \
                     metricNamespace parameter, and the reverse.",
                ));
            }
        };
        let prefix = self.filter_name_prefix.filter(|_| self.log_group_name.is_some());
        Ok(DescribeMetricFilters {
            group: self.log_group_name,
            prefix,
            metric,
            next_token: self.next_token,
            limit: self.limit.unwrap_or(50) as usize,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestMetricFilterRequest {
    pub filter_pattern: Option<String>,
    pub log_event_messages: Option<Vec<String>>,
}

impl TestMetricFilterRequest {
    /// The `matches` of TestMetricFilter: 0-based event numbers, extracted values by field.
    pub fn run(self) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        let pattern = v.required("filterPattern", self.filter_pattern.as_deref());
        v.length("filterPattern", pattern, 0, MAX_PATTERN_CHARS);
        match &self.log_event_messages {
            None => v.push("logEventMessages", None, "Member must not be null"),
            Some(m) if m.is_empty() || m.len() > 50 => v.push(
                "logEventMessages",
                Some(&format!("{} items", m.len())),
                if m.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 50"
                },
            ),
            Some(m) => {
                for (i, msg) in m.iter().enumerate() {
                    v.length(&format!("logEventMessages.{}.member", i + 1), Some(msg), 1, usize::MAX);
                }
            }
        }
        v.finish()?;
        let compiled = parse_pattern(self.filter_pattern.as_deref().unwrap_or_default())?;
        let matches: Vec<Value> = self
            .log_event_messages
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .filter_map(|(i, message)| {
                let values = compiled.extract(&message)?;
                Some(serde_json::json!({ "eventNumber": i, "eventMessage": message, "extractedValues": values }))
            })
            .collect();
        Ok(serde_json::json!({ "matches": matches }))
    }
}
