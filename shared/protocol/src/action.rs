//! The action catalogue: every action Logbook knows, the service it belongs to and the group
//! (Lambda function) that serves it. One table, so routing is a single lookup.

use std::fmt;

/// The two AWS services Logbook imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Logs,
    CloudTrail,
}

impl Service {
    /// The `eventSource` CloudTrail uses for the service.
    pub fn event_source(self) -> &'static str {
        match self {
            Service::Logs => "logs.amazonaws.com",
            Service::CloudTrail => "cloudtrail.amazonaws.com",
        }
    }
}

/// An action group: one Lambda function with its own least-privilege role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    LogGroups,
    LogStreams,
    LogEvents,
    MetricFilters,
    Trails,
    Lookup,
}

impl Group {
    pub const ALL: &'static [Group] =
        &[Group::LogGroups, Group::LogStreams, Group::LogEvents, Group::MetricFilters, Group::Trails, Group::Lookup];

    /// The binary (and `cargo lambda watch` function) name, also the per-group HTTP path.
    pub fn bin_name(self) -> &'static str {
        match self {
            Group::LogGroups => "log-groups",
            Group::LogStreams => "log-streams",
            Group::LogEvents => "log-events",
            Group::MetricFilters => "metric-filters",
            Group::Trails => "trails",
            Group::Lookup => "lookup",
        }
    }

    /// The variable that names the deployed function; unset means the binary name (local).
    pub fn function_env_var(self) -> &'static str {
        match self {
            Group::LogGroups => "LOGBOOK_FUNCTION_LOG_GROUPS",
            Group::LogStreams => "LOGBOOK_FUNCTION_LOG_STREAMS",
            Group::LogEvents => "LOGBOOK_FUNCTION_LOG_EVENTS",
            Group::MetricFilters => "LOGBOOK_FUNCTION_METRIC_FILTERS",
            Group::Trails => "LOGBOOK_FUNCTION_TRAILS",
            Group::Lookup => "LOGBOOK_FUNCTION_LOOKUP",
        }
    }
}

macro_rules! catalogue {
    ($($service:ident $name:ident => $group:expr;)*) => {
        /// Every action of the CloudWatch Logs (boto3 1.9.42) and CloudTrail APIs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($name),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$name),*];

            pub fn name(self) -> &'static str {
                match self { $(Action::$name => stringify!($name)),* }
            }

            pub fn service(self) -> Service {
                match self { $(Action::$name => Service::$service),* }
            }

            /// The group that serves the action; `None` while no function serves it yet.
            pub fn group(self) -> Option<Group> {
                #[allow(unused_imports)]
                use Group::*;
                match self { $(Action::$name => $group),* }
            }
        }
    };
}

catalogue! {
    Logs AssociateKmsKey => Some(LogGroups);
    Logs CancelExportTask => None;
    Logs CreateExportTask => None;
    Logs CreateLogGroup => Some(LogGroups);
    Logs CreateLogStream => Some(LogStreams);
    Logs DeleteDestination => None;
    Logs DeleteLogGroup => Some(LogGroups);
    Logs DeleteLogStream => Some(LogStreams);
    Logs DeleteMetricFilter => Some(MetricFilters);
    Logs DeleteResourcePolicy => None;
    Logs DeleteRetentionPolicy => Some(LogGroups);
    Logs DeleteSubscriptionFilter => None;
    Logs DescribeDestinations => None;
    Logs DescribeExportTasks => None;
    Logs DescribeLogGroups => Some(LogGroups);
    Logs DescribeLogStreams => Some(LogStreams);
    Logs DescribeMetricFilters => Some(MetricFilters);
    Logs DescribeResourcePolicies => None;
    Logs DescribeSubscriptionFilters => None;
    Logs DisassociateKmsKey => Some(LogGroups);
    Logs FilterLogEvents => Some(LogEvents);
    Logs GetLogEvents => Some(LogEvents);
    Logs ListTagsLogGroup => Some(LogGroups);
    Logs PutDestination => None;
    Logs PutDestinationPolicy => None;
    Logs PutLogEvents => Some(LogEvents);
    Logs PutMetricFilter => Some(MetricFilters);
    Logs PutResourcePolicy => None;
    Logs PutRetentionPolicy => Some(LogGroups);
    Logs PutSubscriptionFilter => None;
    Logs TagLogGroup => Some(LogGroups);
    Logs TestMetricFilter => Some(MetricFilters);
    Logs UntagLogGroup => Some(LogGroups);
    CloudTrail CreateTrail => Some(Trails);
    CloudTrail DeleteTrail => Some(Trails);
    CloudTrail DescribeTrails => Some(Trails);
    CloudTrail GetTrailStatus => Some(Trails);
    CloudTrail LookupEvents => Some(Lookup);
    CloudTrail StartLogging => Some(Trails);
    CloudTrail StopLogging => Some(Trails);
    CloudTrail UpdateTrail => Some(Trails);
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const LOGS_PREFIX: &str = "Logs_20140328.";
/// boto3 and the AWS CLI send the long form, aws-sdk-rust the short one.
const TRAIL_PREFIXES: [&str; 2] = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "CloudTrail_20131101."];

/// What an `X-Amz-Target` header names. An unknown target is a value, not a parse failure: the
/// pipeline answers it with `UnknownOperationException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Known(Action),
    Unknown(String),
}

impl Target {
    pub fn parse(header: Option<&str>) -> Target {
        let Some(raw) = header else {
            return Target::Unknown(String::new());
        };
        let (service, op) = if let Some(op) = raw.strip_prefix(LOGS_PREFIX) {
            (Service::Logs, op)
        } else if let Some(op) = TRAIL_PREFIXES.iter().find_map(|p| raw.strip_prefix(p)) {
            (Service::CloudTrail, op)
        } else {
            return Target::Unknown(raw.to_owned());
        };
        Action::ALL
            .iter()
            .find(|a| a.service() == service && a.name() == op)
            .map_or_else(|| Target::Unknown(raw.to_owned()), |a| Target::Known(*a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_as_real_clients_send_them() {
        let cases: &[(Option<&str>, Target)] = &[
            (Some("Logs_20140328.CreateLogGroup"), Target::Known(Action::CreateLogGroup)),
            (Some("Logs_20140328.DescribeLogStreams"), Target::Known(Action::DescribeLogStreams)),
            (
                Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"),
                Target::Known(Action::LookupEvents),
            ),
            (Some("CloudTrail_20131101.DescribeTrails"), Target::Known(Action::DescribeTrails)),
            // A Logs action under the CloudTrail prefix, and the reverse, are unknown.
            (Some("CloudTrail_20131101.CreateLogGroup"), Target::Unknown("CloudTrail_20131101.CreateLogGroup".into())),
            (Some("Logs_20140328.LookupEvents"), Target::Unknown("Logs_20140328.LookupEvents".into())),
            (Some("Logs_20140328.createLogGroup"), Target::Unknown("Logs_20140328.createLogGroup".into())),
            (Some("Logs_20140328."), Target::Unknown("Logs_20140328.".into())),
            (Some("Logs_20140329.CreateLogGroup"), Target::Unknown("Logs_20140329.CreateLogGroup".into())),
            (Some("DynamoDB_20120810.ListTables"), Target::Unknown("DynamoDB_20120810.ListTables".into())),
            (Some(""), Target::Unknown(String::new())),
            (None, Target::Unknown(String::new())),
        ];
        for (header, want) in cases {
            assert_eq!(&Target::parse(*header), want, "target {header:?}");
        }
    }

    #[test]
    fn catalogue_has_the_specified_actions() {
        let logs = Action::ALL.iter().filter(|a| a.service() == Service::Logs).count();
        let trail = Action::ALL.iter().filter(|a| a.service() == Service::CloudTrail).count();
        assert_eq!((logs, trail), (33, 8));
        for a in Action::ALL {
            let header = match a.service() {
                Service::Logs => format!("Logs_20140328.{a}"),
                Service::CloudTrail => format!("CloudTrail_20131101.{a}"),
            };
            assert_eq!(Target::parse(Some(&header)), Target::Known(*a));
        }
    }

    #[test]
    fn every_group_serves_some_action() {
        for g in Group::ALL {
            assert!(Action::ALL.iter().any(|a| a.group() == Some(*g)), "{g:?} serves nothing");
        }
    }
}
