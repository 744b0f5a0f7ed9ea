//! Every key of the table, built here and nowhere else (see docs/table-design.md).
//!
//! Partition keys start with the caller's scope, `{account}#{region}`, so one account never reads
//! another's items. Names are always the *last* component of a key: group names may contain `#`,
//! stream names almost anything, and as a suffix they cannot collide with another key's shape.
//! DynamoDB orders string sort keys by UTF-8 bytes, which is the ASCII order AWS lists names in.
//!
//! DynamoDB's key limits are in bytes (a sort key at most 1,024, a partition key 2,048), while
//! names are limited in characters: a stream name of 512 four-byte characters is 2,048 bytes.
//! So a name goes into a key through [`name_part`], which keeps it whole when it fits and
//! otherwise keeps its longest prefix that fits, then a hash of the whole name; times go through
//! [`time13`], which keeps them in the 13 digits every time key has.

use logbook_protocol::Identity;

use crate::Item;
use crate::table::s;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// The TTL attribute (epoch seconds); DynamoDB deletes items past it, reads hide them sooner.
pub const EXPIRES_AT: &str = "expiresAt";

/// The key attributes of a global secondary index.
pub fn index_keys(index: &str) -> (&'static str, &'static str) {
    match index {
        GSI2 => (GSI2_PK, GSI2_SK),
        _ => (GSI1_PK, GSI1_SK),
    }
}

/// Attribute names that storage code reads or writes by name (the rest come from serde).
pub mod attr {
    /// The item's kind ([`super::Kind`]), for people reading the table and for sweepers.
    pub const TYPE: &str = "type";
    /// A group's or stream's immutable id.
    pub const ID: &str = "id";
    /// The owning group's id (metric filters).
    pub const GROUP_ID: &str = "groupId";
    /// Event chunks: first and last event time, event count, uncompressed frame bytes, ingestion
    /// time, the compressed frame, its layout, and how many part items follow.
    pub const MIN_TS: &str = "minTs";
    pub const MAX_TS: &str = "maxTs";
    pub const COUNT: &str = "count";
    pub const RAW: &str = "raw";
    pub const INGESTION: &str = "ingestion";
    pub const DATA: &str = "data";
    pub const FORMAT: &str = "fmt";
    pub const PARTS: &str = "parts";
    /// Active-hour items: the widest span (last event − first, ms) of the stream's chunks that
    /// start in that hour. Reads look back only that far (see `events::read`).
    pub const SPAN: &str = "span";
    /// Log groups.
    pub const RETENTION: &str = "retentionInDays";
    pub const KMS_KEY: &str = "kmsKeyId";
    pub const TAGS: &str = "tags";
    /// A group's deletion protection (the `LogGroup` field's name: present only when on).
    pub const DELETION_PROTECTION: &str = "deletionProtectionEnabled";
    pub const METRIC_FILTER_COUNT: &str = "metricFilterCount";
    pub const SUBSCRIPTION_FILTER_COUNT: &str = "subscriptionFilterCount";
    /// Event chunks of a group something reads after ingest (a subscription or metric filter): `fan` = 1,
    /// and the names delivery needs, so the fan-out reads nothing to address a message. The
    /// table's stream feeds only such chunks to the fan-out function (its filter criteria).
    pub const FAN: &str = "fan";
    pub const CHUNK_GROUP_ID: &str = "gid";
    pub const CHUNK_GROUP: &str = "gname";
    pub const CHUNK_STREAM: &str = "sname";
    pub const CHUNK_STREAM_ID: &str = "sid";
    /// A chunk's zstd dictionary (its id); a group's current one.
    pub const DICTIONARY: &str = "dict";
    /// Subscription filters: events dropped after their retries ran out (for operators).
    pub const DROPPED_EVENTS: &str = "droppedEvents";
    /// Log streams.
    pub const FIRST_EVENT: &str = "firstEventTimestamp";
    pub const LAST_EVENT: &str = "lastEventTimestamp";
    pub const LAST_INGESTION: &str = "lastIngestionTime";
    pub const SEQUENCE_TOKEN: &str = "uploadSequenceToken";
    /// The widest chunk span ever stored in the stream (see `LogStream::max_span`).
    pub const MAX_SPAN: &str = "maxSpan";
    /// Account counters.
    pub const GROUPS: &str = "groups";
    pub const TRAILS: &str = "trails";
    /// Resource policies (per region, for the 10-policy limit).
    pub const RESOURCE_POLICIES: &str = "resourcePolicies";
    /// Counters: export tasks PENDING or RUNNING (at most one).
    pub const ACTIVE_EXPORTS: &str = "activeExports";
    /// Background jobs: changes when a job is queued again.
    pub const GENERATION: &str = "generation";
    /// Audit pointers: the record's key.
    pub const RECORD_PK: &str = "rpk";
    pub const RECORD_SK: &str = "rsk";
}

/// What an item is (its `type` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Group,
    Stream,
    Chunk,
    Part,
    Active,
    MetricFilter,
    Job,
    Audit,
    Trail,
    Subscription,
    Destination,
    ResourcePolicy,
    MetricDelta,
    MetricCheckpoint,
    MetricPublisher,
    MetricPublished,
    ExportTask,
    TrailStatus,
    Dictionary,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Stream => "stream",
            Kind::Chunk => "chunk",
            Kind::Part => "part",
            Kind::Active => "active",
            Kind::MetricFilter => "metricFilter",
            Kind::Job => "job",
            Kind::Audit => "audit",
            Kind::Trail => "trail",
            Kind::Subscription => "subscription",
            Kind::Destination => "destination",
            Kind::ResourcePolicy => "resourcePolicy",
            Kind::MetricDelta => "metricDelta",
            Kind::MetricCheckpoint => "metricCheckpoint",
            Kind::MetricPublisher => "metricPublisher",
            Kind::MetricPublished => "metricPublished",
            Kind::ExportTask => "exportTask",
            Kind::TrailStatus => "trailStatus",
            Kind::Dictionary => "dictionary",
        }
    }

    pub fn attribute(self) -> (String, aws_sdk_dynamodb::types::AttributeValue) {
        (attr::TYPE.to_owned(), s(self.as_str()))
    }

    /// Whether an item read from the table is of this kind.
    pub fn is(self, item: &crate::Item) -> bool {
        matches!(item.get(attr::TYPE), Some(aws_sdk_dynamodb::types::AttributeValue::S(t)) if t == self.as_str())
    }
}

macro_rules! parts {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $text:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vdoc])* $variant ),* }

        impl $name {
            /// Every variant: what reclaiming the parent must delete.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|p| p.as_str() == text)
            }
        }
    };
}

parts! {
    /// Every partition that lives under one incarnation of a log group (keyed by its immutable
    /// id). Reclaiming a deleted group deletes each of them, so a new kind of child item is
    /// reclaimed as soon as it is listed here, and it cannot get a key without being listed.
    GroupPart {
        /// The group's streams (each with its own [`StreamPart`]s).
        Streams = "streams",
        /// Its metric filters.
        Filters = "filters",
        /// Which streams have events in which hour.
        Active = "active",
        /// Its subscription filters.
        Subscriptions = "subscriptions",
        /// Its zstd dictionaries, by id (chunks name the one they were compressed with).
        Dictionaries = "dicts",
    }
}

parts! {
    /// Every partition that lives under one incarnation of a log stream.
    StreamPart {
        /// Its event chunks (and their part items).
        Events = "events",
    }
}

/// The one place a group's child partition key is formatted.
pub fn group_part(id: &Identity, group_id: &str, part: GroupPart) -> String {
    group_part_in(&scope(id), group_id, part)
}

fn group_part_in(scope: &str, group_id: &str, part: GroupPart) -> String {
    format!("{scope}#group#{group_id}#{}", part.as_str())
}

/// The one place a stream's child partition key is formatted.
pub fn stream_part(id: &Identity, stream_id: &str, part: StreamPart) -> String {
    format!("{}#stream#{stream_id}#{}", scope(id), part.as_str())
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn item(&self) -> Item {
        Item::from([(PK.to_owned(), s(&self.pk)), (SK.to_owned(), s(&self.sk))])
    }

    /// The key of an item read from the table.
    pub fn of(item: &Item) -> Option<Key> {
        match (item.get(PK), item.get(SK)) {
            (
                Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)),
                Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)),
            ) => Some(Key { pk: pk.clone(), sk: sk.clone() }),
            _ => None,
        }
    }

    /// Whether `item` has this key.
    pub fn is(&self, item: &Item) -> bool {
        Key::of(item).is_some_and(|k| k == *self)
    }
}

/// DynamoDB's limits on a partition key and a sort key, in UTF-8 bytes.
pub const PK_MAX: usize = 2048;
pub const SK_MAX: usize = 1024;
/// The longest a name may be and still stand whole in a sort key with a 13-digit time before it.
pub const NAME_BYTES: usize = SK_MAX - 16;
/// A hashed name part: `:` (which no log group, stream or filter name may contain, so a hashed
/// part never equals a whole name) and 32 hex digits.
const HASH_TAIL: usize = 33;

/// `name` as a key component of at most `budget` bytes: whole when it fits, so keys sort by
/// name as AWS lists them; otherwise its longest prefix (at a character boundary) that leaves
/// room for `:` and 32 hex digits of a SHA-256 of the whole name. Distinct names stay distinct;
/// names that share that long a prefix sort by hash among themselves. The name itself is kept
/// whole in the item, so nothing returned is cut.
pub fn name_part(name: &str, budget: usize) -> std::borrow::Cow<'_, str> {
    if name.len() <= budget {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut cut = budget.saturating_sub(HASH_TAIL);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    std::borrow::Cow::Owned(format!("{}:{}", &name[..cut], digest(name)))
}

/// A prefix to look for with `begins_with` over keys made by [`name_part`] with `budget`, and
/// whether results must be checked against the whole prefix (when it is longer than any hashed
/// key keeps whole).
pub fn prefix_part(prefix: &str, budget: usize) -> (&str, bool) {
    let keep = budget.saturating_sub(HASH_TAIL);
    if prefix.len() <= keep {
        return (prefix, false);
    }
    let mut cut = keep;
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    (&prefix[..cut], true)
}

/// 32 hex digits of a SHA-256 of `text`: fixed-size key parts for things of any length.
fn digest(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The latest time a key can hold in its 13 digits (year 2286); earlier than the epoch is 0.
pub const TIME_MAX: i64 = 9_999_999_999_999;

/// A time (ms) as the 13 digits of every time key: clamped, so a time key never grows a digit
/// and sorts out of order.
pub fn time13(ms: i64) -> String {
    format!("{:013}", ms.clamp(0, TIME_MAX))
}

fn scope(id: &Identity) -> String {
    format!("{}#{}", id.account_id, id.region)
}

/// All log groups of an account and region, one partition sorted by name.
pub fn groups(id: &Identity) -> String {
    format!("{}#groups", scope(id))
}

pub fn group(id: &Identity, name: &str) -> Key {
    Key { pk: groups(id), sk: name.to_owned() }
}

/// Per-account counters (log groups, for the 5,000 limit).
pub fn counters(id: &Identity) -> Key {
    Key { pk: format!("{}#account", scope(id)), sk: "counters".to_owned() }
}

/// The streams of one incarnation of a group (its immutable id), sorted by name.
pub fn streams(id: &Identity, group_id: &str) -> String {
    group_part(id, group_id, GroupPart::Streams)
}

pub fn stream(id: &Identity, group_id: &str, name: &str) -> Key {
    Key { pk: streams(id, group_id), sk: name_part(name, NAME_BYTES).into_owned() }
}

/// GSI1 sort key that orders a group's streams by last event time, then name. Streams without
/// events sort first, as time 0.
pub fn stream_by_time(last_event: Option<i64>, name: &str) -> String {
    format!("{}#{}", time13(last_event.unwrap_or(0)), name_part(name, NAME_BYTES))
}

/// The metric filters of one incarnation of a group, sorted by name.
pub fn filters(id: &Identity, group_id: &str) -> String {
    group_part(id, group_id, GroupPart::Filters)
}

pub fn filter(id: &Identity, group_id: &str, name: &str) -> Key {
    Key { pk: filters(id, group_id), sk: name_part(name, NAME_BYTES).into_owned() }
}

/// GSI1 partition listing every metric filter of the account (DescribeMetricFilters without a
/// group or metric).
pub fn account_filters(id: &Identity) -> String {
    format!("{}#filters", scope(id))
}

/// GSI2 partition of the filters that publish one metric. A metric name never contains `:` (a
/// namespace may), so `{namespace}:{metric}` reads back one way; hashed past the key limit.
pub fn metric_filters(id: &Identity, namespace: &str, metric: &str) -> String {
    let scope = format!("{}#metric#", scope(id));
    let budget = PK_MAX - scope.len();
    format!("{scope}{}", name_part(&format!("{namespace}:{metric}"), budget))
}

/// Index sort key: filter name, then group name (neither may contain `:`), so listings across
/// groups come in filter-name order as AWS gives them.
pub fn filter_across_groups(filter: &str, group: &str) -> String {
    format!("{}:{group}", name_part(filter, SK_MAX - 1 - group.len()))
}

/// The subscription filters of one incarnation of a group (at most two), sorted by name.
pub fn subscriptions(id: &Identity, group_id: &str) -> String {
    group_part(id, group_id, GroupPart::Subscriptions)
}

pub fn subscription(id: &Identity, group_id: &str, name: &str) -> Key {
    Key { pk: subscriptions(id, group_id), sk: name_part(name, NAME_BYTES).into_owned() }
}

/// An account's destinations in a region, one partition sorted by name (DescribeDestinations
/// lists them in ASCII order).
pub fn destinations(id: &Identity) -> String {
    format!("{}#destinations", scope(id))
}

pub fn destination(id: &Identity, name: &str) -> Key {
    Key { pk: destinations(id), sk: name_part(name, NAME_BYTES).into_owned() }
}

/// The event chunks of one incarnation of a stream, sorted by first event time.
pub fn events(id: &Identity, stream_id: &str) -> String {
    stream_part(id, stream_id, StreamPart::Events)
}

/// A chunk's sort key: its first event's time, then its unique id (parallel writers never collide).
pub fn chunk(first_event: i64, chunk_id: &str) -> String {
    format!("{}#{chunk_id}", time13(first_event))
}

/// A group's zstd dictionary.
pub fn dictionary(id: &Identity, group_id: &str, dictionary_id: &str) -> Key {
    Key { pk: group_part(id, group_id, GroupPart::Dictionaries), sk: dictionary_id.to_owned() }
}

/// The dictionary a chunk names, from the chunk's partition key (its account and region) and the
/// group id the chunk carries: the fan-out reads chunks without an identity at hand.
pub fn chunk_dictionary(chunk_pk: &str, group_id: &str, dictionary_id: &str) -> Option<Key> {
    let (scope, _) = chunk_pk.split_once("#stream#")?;
    Some(Key { pk: group_part_in(scope, group_id, GroupPart::Dictionaries), sk: dictionary_id.to_owned() })
}

/// The `n`th (from 1) part item of a chunk larger than one item: right after its chunk, in order.
pub fn chunk_part(chunk_sk: &str, n: usize) -> String {
    format!("{chunk_sk}#{n:03}")
}

/// Which streams of a group have events in which hour: one small item per (hour, stream), so
/// FilterLogEvents over a time window finds the streams worth reading with one query instead of
/// one per stream.
pub fn active(id: &Identity, group_id: &str) -> String {
    group_part(id, group_id, GroupPart::Active)
}

/// The hour (ms / 3,600,000, zero-padded) first, then the stream name (last, as always).
pub fn active_hour(hour: i64, stream: &str) -> String {
    format!("{}#{}", hour9(hour), name_part(stream, NAME_BYTES))
}

/// An hour as the 9 digits of an active-hour key.
fn hour9(hour: i64) -> String {
    format!("{:09}", hour.clamp(0, TIME_MAX / 3_600_000))
}

/// Sort-key bounds for every stream of hours `from..=to`: `$` sorts right after `#`.
pub fn active_range(from: i64, to: i64) -> (String, String) {
    (format!("{}#", hour9(from)), format!("{}$", hour9(to)))
}

/// Sort-key bounds for chunks whose first event lies in [from, to] (ms, inclusive).
pub fn chunk_range(from: i64, to: i64) -> (String, String) {
    (time13(from), format!("{}#~", time13(to)))
}

/// The one partition of background work (retention re-application, reclaiming deleted groups and
/// streams), across accounts: the scheduled worker must find every job with one query. It is the
/// only key without an account scope, and it holds only ids, never customer data. Jobs are few
/// (one per retention change or delete), far below one partition's 1,000 writes/s.
pub const WORK: &str = "work";

/// A job's sort key: account and region first, so one account's jobs share a prefix (the worker
/// can be confined to them), then the kind and the resource id (a ULID, never a name).
pub fn work(id: &Identity, kind: &str, resource_id: &str) -> Key {
    Key { pk: WORK.to_owned(), sk: format!("{}{kind}#{resource_id}", work_prefix(id)) }
}

/// The sort-key prefix of one account's and region's jobs.
pub fn work_prefix(id: &Identity) -> String {
    format!("{}#", scope(id))
}

/// Metric filters' contributions waiting to be published, across accounts: the publisher finds
/// them all with one query, as the worker finds jobs. At most one write per log stream and
/// fan-out batch, far below one partition's 1,000 writes/s.
pub const METRICS_PENDING: &str = "metrics#pending";

/// A table stream sequence number as a key part: left-padded to 40 digits, so that keys and
/// conditions compare them as numbers.
pub fn sequence40(sequence: &str) -> String {
    format!("{sequence:0>40}")
}

/// How far a log stream's stored chunks (`events_pk`: the stream's event partition) are
/// accounted for in metric contributions: the last table-stream sequence number counted.
pub fn metric_checkpoint(events_pk: &str) -> Key {
    Key { pk: format!("metrics#stream#{}", digest(events_pk)), sk: "checkpoint".to_owned() }
}

/// The contributions of one fan-out batch (`id`: unique), `part`: the n-th item when they fill
/// more than one.
pub fn metric_delta(id: &str, part: usize) -> Key {
    Key { pk: METRICS_PENDING.to_owned(), sk: format!("{id}#{part:03}") }
}

/// The one publisher's lease and its publication in flight.
pub fn metrics_publisher() -> Key {
    Key { pk: "metrics#publisher".to_owned(), sk: "lease".to_owned() }
}

/// How much of one datapoint (`bucket`: its canonical text) CloudWatch has been confirmed to
/// hold: the publisher's check after a crash. One partition per datapoint.
pub fn metric_published(bucket: &str) -> Key {
    Key { pk: format!("metrics#published#{}", digest(bucket)), sk: "count".to_owned() }
}

/// Audit partitions are split by day (the time range of a lookup selects days) and by shard (so one
/// busy day is several partitions, not one hot one).
pub const AUDIT_SHARDS: u32 = 4;

/// The shard of a record, from its (random) event id.
pub fn audit_shard(event_id: &str) -> u32 {
    event_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % AUDIT_SHARDS
}

/// The partition holding one day's records of one shard.
pub fn audit_records(id: &Identity, day: &str, shard: u32) -> String {
    format!("{}#audit#{day}#{shard}", scope(id))
}

/// The partition indexing one day's records of one shard by one attribute value (value last,
/// hashed when the key would pass DynamoDB's limit: lookups compute the same key).
pub fn audit_index(id: &Identity, attribute: &str, day: &str, shard: u32, value: &str) -> String {
    let head = format!("{}#audit-by#{attribute}#{day}#{shard}#", scope(id));
    let budget = PK_MAX - head.len();
    format!("{head}{}", name_part(value, budget))
}

/// Records and index entries sort by time, then event id.
pub fn audit_sort(event_time: i64, event_id: &str) -> String {
    format!("{}#{}", time13(event_time), name_part(event_id, SK_MAX - 14))
}

/// Lower and upper sort-key bounds for records between two times (inclusive, milliseconds).
pub fn audit_sort_range(start: i64, end: i64) -> (String, String) {
    (time13(start), format!("{}#~", time13(end)))
}

/// The pointer that finds a record by its event id (any id a caller asks for fits).
pub fn audit_event(id: &Identity, event_id: &str) -> Key {
    let head = format!("{}#audit-id#", scope(id));
    let budget = PK_MAX - head.len();
    Key { pk: format!("{head}{}", name_part(event_id, budget)), sk: "event".to_owned() }
}

/// One item per day that has records, so a lookup skips empty days without querying them. Days
/// with records of the earlier layout (a pointer item per attribute value) are listed here;
/// days of the current one (one item per record, indexed on the item) in [`audit_record_days`],
/// so a lookup queries the earlier pointers only on days that have them.
pub fn audit_days(id: &Identity) -> String {
    format!("{}#audit-days", scope(id))
}

pub fn audit_record_days(id: &Identity) -> String {
    format!("{}#audit-days2", scope(id))
}

/// A day's marker in the current layout's list.
pub fn audit_day(id: &Identity, day: &str) -> Key {
    Key { pk: audit_record_days(id), sk: day.to_owned() }
}

/// A day's marker in the earlier layout's list (written by earlier versions; tests write it).
pub fn audit_legacy_day(id: &Identity, day: &str) -> Key {
    Key { pk: audit_days(id), sk: day.to_owned() }
}

/// An account's resource policies in one region, by name (at most 10).
pub fn resource_policies(id: &Identity) -> String {
    format!("{}#resource-policies", scope(id))
}

pub fn resource_policy(id: &Identity, name: &str) -> Key {
    Key { pk: resource_policies(id), sk: name_part(name, SK_MAX).into_owned() }
}

/// An account's export tasks, by id: UUID v7s, so in creation order (DescribeExportTasks lists
/// them newest first).
pub fn export_tasks(id: &Identity) -> String {
    format!("{}#exports", scope(id))
}

/// A task's key; any string a caller names (DescribeExportTasks takes one) makes a valid key.
pub fn export_task(id: &Identity, task_id: &str) -> Key {
    Key { pk: export_tasks(id), sk: name_part(task_id, SK_MAX).into_owned() }
}

/// All trails of an account, every region, in one small partition: DescribeTrails shows a
/// multi-region trail in every region (as a shadow trail).
pub fn trails(id: &Identity) -> String {
    format!("{}#trails", id.account_id)
}

/// What a trail's deliveries did and how far its log files went: apart from the trail, so a
/// delivery never rewrites the trail's settings (nor an UpdateTrail the delivery's progress).
pub fn trail_status(id: &Identity, home_region: &str, name: &str) -> Key {
    Key { pk: format!("{}#trail-status", id.account_id), sk: format!("{home_region}#{name}") }
}

pub fn trail(id: &Identity, home_region: &str, name: &str) -> Key {
    Key { pk: trails(id), sk: format!("{home_region}#{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(account: &str, region: &str) -> Identity {
        Identity { account_id: account.into(), region: region.into(), access_key_id: None, user_name: None }
    }

    #[test]
    fn keys_are_scoped_and_distinct() {
        let a = id("111111111111", "us-east-1");
        let b = id("222222222222", "us-east-1");
        let c = id("111111111111", "eu-west-1");
        assert_eq!(group(&a, "app"), Key { pk: "111111111111#us-east-1#groups".into(), sk: "app".into() });
        assert_ne!(group(&a, "app").pk, group(&b, "app").pk);
        assert_ne!(group(&a, "app").pk, group(&c, "app").pk);
        assert_eq!(stream(&a, "01G", "s#1").pk, "111111111111#us-east-1#group#01G#streams");
        assert_eq!(stream(&a, "01G", "s#1").sk, "s#1");
        // A group name holding '#' cannot reach another partition: names are never in a pk.
        assert_eq!(group(&a, "x#account").pk, groups(&a));
        assert_ne!(counters(&a).pk, groups(&a));
        assert_eq!(work(&a, "retention", "01G").sk, "111111111111#us-east-1#retention#01G");
        assert!(work(&a, "stream", "01S").sk.starts_with(&work_prefix(&a)));
        assert!(!work(&b, "stream", "01S").sk.starts_with(&work_prefix(&a)));
    }

    /// Every child partition of a group or stream is built by `group_part` / `stream_part`, so
    /// its kind is in the list reclaiming iterates: no other code in this file formats one.
    #[test]
    fn child_partitions_are_all_listed() {
        let source = include_str!("keys.rs");
        let count = |needle: &str| source.matches(needle).count();
        // Once in each builder, once in this test.
        assert_eq!(count(concat!("#group#", "{group_id}")), 1, "a group child key formatted outside group_part");
        assert_eq!(count(concat!("#stream#", "{stream_id}")), 1, "a stream child key formatted outside stream_part");
        let a = id("111111111111", "us-east-1");
        let parse = |pk: &str, marker: &str| {
            pk.split(marker).nth(1).and_then(|rest| rest.split_once('#')).map(|(_, p)| p.to_owned())
        };
        let dict = dictionary(&a, "01G", "D").pk;
        assert_eq!(chunk_dictionary(&events(&a, "01S"), "01G", "D"), Some(dictionary(&a, "01G", "D")));
        assert_eq!(chunk_dictionary("no-stream-here", "01G", "D"), None);
        for pk in [streams(&a, "01G"), filters(&a, "01G"), active(&a, "01G"), subscriptions(&a, "01G"), dict] {
            let part = parse(&pk, "#group#").unwrap();
            assert!(GroupPart::parse(&part).is_some(), "{pk}: {part} is not a GroupPart");
        }
        let part = parse(&events(&a, "01S"), "#stream#").unwrap();
        assert_eq!(StreamPart::parse(&part), Some(StreamPart::Events));
        for p in GroupPart::ALL {
            assert_eq!(GroupPart::parse(p.as_str()), Some(*p));
        }
    }

    #[test]
    fn every_key_fits_dynamodb_whatever_the_name() {
        let a = id("111111111111", "us-east-1");
        let four_byte = "\u{1F600}".repeat(512); // 512 characters, 2,048 bytes
        let names = [four_byte.clone(), "é".repeat(512), "a".repeat(512), "x".to_owned(), "\u{10FFFF}".repeat(300)];
        for n in &names {
            for (what, k) in [
                ("stream", stream(&a, "01G", n).sk),
                ("by time", stream_by_time(Some(i64::MAX), n)),
                ("filter", filter(&a, "01G", n).sk),
                ("across", filter_across_groups(n, &"g".repeat(512))),
                ("active", active_hour(i64::MAX, n)),
                ("sort", audit_sort(i64::MIN, n)),
            ] {
                assert!(k.len() <= SK_MAX, "{what}: {} bytes", k.len());
            }
            for (what, k) in [
                ("metric", metric_filters(&a, &"\u{1F600}".repeat(255), &"\u{1F600}".repeat(255))),
                ("index", audit_index(&a, "ResourceName", "2026-11-20", 3, &n.repeat(20))),
                ("event", audit_event(&a, &n.repeat(20)).pk),
            ] {
                assert!(k.len() <= PK_MAX, "{what}: {} bytes", k.len());
            }
        }
        // Names that fit stay whole; longer ones stay distinct and keep their order by prefix.
        assert_eq!(stream(&a, "01G", "web-1").sk, "web-1");
        let (x, y) = (format!("{four_byte}x"), format!("{four_byte}y"));
        assert_ne!(stream(&a, "g", &x).sk, stream(&a, "g", &y).sk);
        assert!(stream(&a, "g", "\u{1F600}").sk < stream(&a, "g", &x).sk);
        assert!(stream(&a, "g", &x).sk < stream(&a, "g", "\u{1F601}").sk);
        // A prefix longer than a hashed key keeps is shortened, and results re-checked.
        let (p, recheck) = prefix_part(&four_byte, NAME_BYTES);
        assert!(recheck && stream(&a, "g", &x).sk.starts_with(p));
        assert_eq!(prefix_part("web-", NAME_BYTES), ("web-", false));
    }

    #[test]
    fn times_keep_thirteen_digits() {
        for (t, want) in [
            (i64::MIN, "0000000000000"),
            (-5, "0000000000000"),
            (1_700_000_000_000, "1700000000000"),
            (i64::MAX, "9999999999999"),
        ] {
            assert_eq!(time13(t), want);
        }
        let (lo, hi) = chunk_range(-3_600_000, i64::MAX);
        assert!(lo < chunk(0, "01A") && chunk(TIME_MAX, "01A") < hi);
        let (lo, hi) = active_range(-1, i64::MAX);
        assert!(lo <= active_hour(0, "s") && active_hour(i64::MAX, "s") <= hi);
    }

    #[test]
    fn a_colon_in_a_namespace_reads_one_way() {
        // Metric names never hold a colon, so the last one separates the two.
        let a = id("111111111111", "us-east-1");
        let k = metric_filters(&a, "my:app", "errors");
        assert_eq!(k.rsplit_once(':').map(|(_, m)| m), Some("errors"));
        assert_ne!(metric_filters(&a, "a:b", "c"), metric_filters(&a, "a", "b"));
    }

    #[test]
    fn active_hours_bound_their_streams() {
        let (lo, hi) = active_range(7, 8);
        for (hour, name, inside) in
            [(6, "~~~", false), (7, "", true), (7, "a", true), (8, "\u{10FFFF}x", true), (9, "", false)]
        {
            let sk = active_hour(hour, name);
            assert_eq!(lo <= sk && sk <= hi, inside, "{sk}");
        }
    }

    #[test]
    fn time_order_sorts_as_numbers() {
        let mut keys = vec![
            stream_by_time(Some(1_700_000_000_000), "b"),
            stream_by_time(None, "z"),
            stream_by_time(Some(999), "a"),
            stream_by_time(Some(1_700_000_000_000), "a"),
        ];
        keys.sort();
        assert_eq!(keys, ["0000000000000#z", "0000000000999#a", "1700000000000#a", "1700000000000#b",]);
    }
}
