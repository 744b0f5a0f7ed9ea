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

macro_rules! catalogue {
    (
        served { $( $(#[$gdoc:meta])* $group:ident = $bin:literal { $( $service:ident $name:ident ),* $(,)? } )* }
        unserved { $( $uservice:ident $uname:ident ),* $(,)? }
    ) => {
        /// An action group: one Lambda function with its own least-privilege role.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Group { $( $(#[$gdoc])* $group ),* }

        impl Group {
            pub const ALL: &'static [Group] = &[$(Group::$group),*];

            /// The binary (and `cargo lambda watch` function) name, also the per-group HTTP path.
            pub fn bin_name(self) -> &'static str {
                match self { $(Group::$group => $bin),* }
            }

            /// The actions the group serves, in catalogue order.
            pub fn actions(self) -> &'static [Action] {
                match self { $(Group::$group => &[$(Action::$name),*]),* }
            }
        }

        /// Every action Logbook knows: the CloudWatch Logs (boto3 1.9.42) and CloudTrail APIs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($($name,)*)* $($uname,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$($(Action::$name,)*)* $(Action::$uname,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $($(Action::$name => stringify!($name),)*)*
                    $(Action::$uname => stringify!($uname),)*
                }
            }

            pub fn service(self) -> Service {
                match self {
                    $($(Action::$name => Service::$service,)*)*
                    $(Action::$uname => Service::$uservice,)*
                }
            }

            /// Where the action goes: its group's own typed action, or nowhere yet.
            pub fn route(self) -> Route {
                match self {
                    $($(Action::$name => Route::$group(ops::$group::$name),)*)*
                    $(Action::$uname => Route::Unserved(self),)*
                }
            }

            /// The group that serves the action; `None` while no function serves it yet.
            pub fn group(self) -> Option<Group> {
                self.route().group()
            }
        }

        /// An action resolved to the group that serves it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $( $group(ops::$group), )*
            /// Catalogued, but no function serves it yet: `UnknownOperationException`.
            Unserved(Action),
        }

        impl Route {
            pub fn group(self) -> Option<Group> {
                match self {
                    $( Route::$group(_) => Some(Group::$group), )*
                    Route::Unserved(_) => None,
                }
            }
        }

        /// One enum per group holding exactly the actions the catalogue gives it. A group's
        /// `dispatch` matches on its enum without a catch-all arm, so an action catalogued for a
        /// group that has no handler for it is a compile error.
        pub mod ops {
            use super::{Action, Group, GroupOp};
            $(
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                pub enum $group { $($name),* }

                impl From<$group> for Action {
                    fn from(op: $group) -> Action {
                        match op { $($group::$name => Action::$name),* }
                    }
                }

                impl TryFrom<Action> for $group {
                    type Error = Action;
                    fn try_from(a: Action) -> Result<$group, Action> {
                        match a.route() {
                            super::Route::$group(op) => Ok(op),
                            _ => Err(a),
                        }
                    }
                }

                impl GroupOp for $group {
                    const GROUP: Group = Group::$group;
                }
            )*
        }
    };
}

/// A group's own action type (generated in [`ops`]).
pub trait GroupOp: Copy + Send + Sync + fmt::Debug + Into<Action> + TryFrom<Action, Error = Action> + 'static {
    const GROUP: Group;
}

impl Group {
    /// The variable that names the deployed function (`LOGBOOK_FUNCTION_LOG_GROUPS`); unset means
    /// the binary name (local).
    pub fn function_env_var(self) -> String {
        format!("LOGBOOK_FUNCTION_{}", self.bin_name().to_ascii_uppercase().replace('-', "_"))
    }

    /// The group a binary name (or per-group HTTP path segment) names.
    pub fn from_bin_name(name: &str) -> Option<Group> {
        Group::ALL.iter().copied().find(|g| g.bin_name() == name)
    }
}

// The one catalogue: every action, in the group (function) that serves it. Moving an action into
// a group makes that group's `dispatch` fail to compile until it has a handler.
catalogue! {
    served {
    LogGroups = "log-groups" {
        Logs AssociateKmsKey,
        Logs CreateLogGroup,
        Logs DeleteLogGroup,
        Logs DeleteRetentionPolicy,
        Logs DescribeLogGroups,
        Logs DisassociateKmsKey,
        Logs ListTagsLogGroup,
        Logs PutRetentionPolicy,
        Logs TagLogGroup,
        Logs UntagLogGroup,
        Logs DeleteResourcePolicy,
        Logs DescribeResourcePolicies,
        Logs PutResourcePolicy,
        // Today's API on the same resources (not in the 2018 model).
        Logs ListLogGroups,
        Logs PutLogGroupDeletionProtection,
        Logs TagResource,
        Logs UntagResource,
        Logs ListTagsForResource,
    }
    LogStreams = "log-streams" {
        Logs CreateLogStream,
        Logs DeleteLogStream,
        Logs DescribeLogStreams,
    }
    LogEvents = "log-events" {
        Logs FilterLogEvents,
        Logs GetLogEvents,
        Logs PutLogEvents,
    }
    MetricFilters = "metric-filters" {
        Logs DeleteMetricFilter,
        Logs DescribeMetricFilters,
        Logs PutMetricFilter,
        Logs TestMetricFilter,
    }
    Trails = "trails" {
        CloudTrail CreateTrail,
        CloudTrail DeleteTrail,
        CloudTrail DescribeTrails,
        CloudTrail GetTrailStatus,
        CloudTrail StartLogging,
        CloudTrail StopLogging,
        CloudTrail UpdateTrail,
    }
    Lookup = "lookup" {
        CloudTrail LookupEvents,
    }
    Subscriptions = "subscriptions" {
        Logs DeleteDestination,
        Logs DeleteSubscriptionFilter,
        Logs DescribeDestinations,
        Logs DescribeSubscriptionFilters,
        Logs PutDestination,
        Logs PutDestinationPolicy,
        Logs PutSubscriptionFilter,
    }
    Exports = "exports" {
        Logs CancelExportTask,
        Logs CreateExportTask,
        Logs DescribeExportTasks,
    }
    }
    unserved {
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Action {
    /// The `X-Amz-Target` header that names the action (the long CloudTrail form, as boto3 and
    /// the AWS CLI send it).
    pub fn target(self) -> String {
        match self.service() {
            Service::Logs => format!("{LOGS_PREFIX}{}", self.name()),
            Service::CloudTrail => format!("{}{}", TRAIL_PREFIXES[0], self.name()),
        }
    }

    /// Reads and changes nothing (Describe*, Get*, List*, Lookup*, Test*, Filter*).
    pub fn is_read_only(self) -> bool {
        let name = self.name();
        ["Describe", "List", "Get", "Lookup", "Test", "Filter"].iter().any(|p| name.starts_with(p))
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
        // The specification's 33 and 8, and five of today's API on the same resources.
        assert_eq!((logs, trail), (33 + 5, 8));
        for a in Action::ALL {
            let header = match a.service() {
                Service::Logs => format!("Logs_20140328.{a}"),
                Service::CloudTrail => format!("CloudTrail_20131101.{a}"),
            };
            assert_eq!(Target::parse(Some(&header)), Target::Known(*a));
            assert_eq!(Target::parse(Some(&a.target())), Target::Known(*a));
        }
    }

    #[test]
    fn every_group_serves_some_action() {
        for g in Group::ALL {
            assert!(!g.actions().is_empty(), "{g:?} serves nothing");
            for a in g.actions() {
                assert_eq!(a.group(), Some(*g), "{a}");
            }
            assert_eq!(Group::from_bin_name(g.bin_name()), Some(*g));
        }
        let served: usize = Group::ALL.iter().map(|g| g.actions().len()).sum();
        assert_eq!(served, Action::ALL.iter().filter(|a| a.group().is_some()).count());
        assert_eq!(Group::LogGroups.function_env_var(), "LOGBOOK_FUNCTION_LOG_GROUPS");
        assert_eq!(Group::MetricFilters.function_env_var(), "LOGBOOK_FUNCTION_METRIC_FILTERS");
    }

    #[test]
    fn group_actions_convert_both_ways() {
        assert_eq!(ops::LogGroups::try_from(Action::CreateLogGroup), Ok(ops::LogGroups::CreateLogGroup));
        assert_eq!(ops::LogGroups::try_from(Action::CreateLogStream), Err(Action::CreateLogStream));
        assert_eq!(Action::from(ops::Lookup::LookupEvents), Action::LookupEvents);
        assert_eq!(
            Action::PutSubscriptionFilter.route(),
            Route::Subscriptions(ops::Subscriptions::PutSubscriptionFilter)
        );
        assert_eq!(Action::CreateExportTask.route(), Route::Exports(ops::Exports::CreateExportTask));
        // Every catalogued action is served now (the `unserved` block stays for actions a later
        // issue catalogues before its function serves them).
        assert!(Action::ALL.iter().all(|a| a.group().is_some()));
    }
}
