//! Constraint checks that produce CloudWatch Logs' wording, with its code,
//! `InvalidParameterException` (AWS's recorded answers; CloudTrail has codes of its own):
//! `1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: …`.
//! Violations are collected so one response names every bad member, as AWS does.

use logbook_protocol::ApiError;

pub const GROUP_NAME_PATTERN: &str = r"[\.\-_/#A-Za-z0-9]+";
pub const STREAM_NAME_PATTERN: &str = r"[^:*]*";
/// The longest a log group or stream name may be, in characters.
pub const NAME_MAX: usize = 512;
/// AWS's own answer for a group or stream name over [`NAME_MAX`], instead of the usual form.
pub const NAME_TOO_LONG: &str = "Invalid LogGroup or LogStream, both must have length less than or equal to 512.";
/// Characters of a rejected value a message repeats; the rest is elided (a 450 KB member must not
/// make a 450 KB answer, nor an audit record that size).
const VALUE_SHOWN_MAX: usize = 256;
/// Violations a message lists; the count still names them all.
const LISTED_MAX: usize = 20;

#[derive(Debug, Default)]
pub struct Violations {
    found: Vec<String>,
    name_too_long: bool,
}

/// `value` as a message quotes it: whole, or its first characters and how many more there were.
pub fn shown(value: &str) -> String {
    match value.char_indices().nth(VALUE_SHOWN_MAX) {
        None => value.to_owned(),
        Some((cut, _)) => format!("{}...({} more characters)", &value[..cut], value[cut..].chars().count()),
    }
}

impl Violations {
    pub fn new() -> Self {
        Violations::default()
    }

    /// Records that `value` (`None` is null) at `member` breaks `constraint`.
    pub fn push(&mut self, member: &str, value: Option<&str>, constraint: &str) {
        let value = match value {
            Some(v) => format!("'{}'", shown(v)),
            None => "null".to_owned(),
        };
        self.found.push(format!("Value {value} at '{member}' failed to satisfy constraint: {constraint}"));
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.name_too_long {
            return Err(ApiError::invalid_parameter(NAME_TOO_LONG));
        }
        let listed = || self.found.iter().take(LISTED_MAX).cloned().collect::<Vec<_>>().join("; ");
        match self.found.len() {
            0 => Ok(()),
            1 => Err(ApiError::invalid_parameter(format!("1 validation error detected: {}", self.found[0]))),
            n => Err(ApiError::invalid_parameter(format!("{n} validation errors detected: {}", listed()))),
        }
    }

    /// A member that must be present. Returns it for further checks.
    pub fn required<'a>(&mut self, member: &str, value: Option<&'a str>) -> Option<&'a str> {
        if value.is_none() {
            self.push(member, None, "Member must not be null");
        }
        value
    }

    /// Length in characters, inclusive bounds.
    pub fn length(&mut self, member: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(v) = value else { return };
        let n = v.chars().count();
        if n < min {
            self.push(member, Some(v), &format!("Member must have length greater than or equal to {min}"));
        }
        if n > max {
            self.push(member, Some(v), &format!("Member must have length less than or equal to {max}"));
        }
    }

    pub fn pattern(&mut self, member: &str, value: Option<&str>, ok: impl Fn(&str) -> bool, pattern: &str) {
        if let Some(v) = value
            && !ok(v)
        {
            self.push(member, Some(v), &format!("Member must satisfy regular expression pattern: {pattern}"));
        }
    }

    pub fn range(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(v) = value else { return };
        let s = v.to_string();
        if v < min {
            self.push(member, Some(&s), &format!("Member must have value greater than or equal to {min}"));
        }
        if v > max {
            self.push(member, Some(&s), &format!("Member must have value less than or equal to {max}"));
        }
    }

    pub fn one_of(&mut self, member: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            self.push(member, Some(v), &format!("Member must satisfy enum value set: [{}]", allowed.join(", ")));
        }
    }

    /// A log group name (or prefix): 1–512 of `[\.\-_/#A-Za-z0-9]`.
    pub fn group_name(&mut self, member: &str, value: Option<&str>) {
        if member == "logGroupName" && value.is_some_and(|v| v.chars().count() > NAME_MAX) {
            self.name_too_long = true;
            return;
        }
        self.length(member, value, 1, NAME_MAX);
        self.pattern(member, value, is_group_name, GROUP_NAME_PATTERN);
    }

    /// A log stream name (or prefix): 1–512 characters, no `:` or `*`.
    pub fn stream_name(&mut self, member: &str, value: Option<&str>) {
        if member == "logStreamName" && value.is_some_and(|v| v.chars().count() > NAME_MAX) {
            self.name_too_long = true;
            return;
        }
        self.resource_name(member, value);
    }

    /// A filter's, destination's or other resource's name (or prefix), with the stream-name rule
    /// AWS's model gives them: 1–512 characters, no `:` or `*`.
    pub fn resource_name(&mut self, member: &str, value: Option<&str>) {
        self.length(member, value, 1, NAME_MAX);
        self.pattern(member, value, is_stream_name, STREAM_NAME_PATTERN);
    }

    /// A list member's size, inclusive bounds (`Member must have length …` on the list).
    pub fn count(&mut self, member: &str, len: usize, min: usize, max: usize) {
        let shown = format!("{len} items");
        if len < min {
            self.push(member, Some(&shown), &format!("Member must have length greater than or equal to {min}"));
        }
        if len > max {
            self.push(member, Some(&shown), &format!("Member must have length less than or equal to {max}"));
        }
    }
}

pub fn is_group_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_group_name_char)
}

/// A character a log group name may hold: `[\.\-_/#A-Za-z0-9]`.
pub fn is_group_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/#".contains(c)
}

pub fn is_stream_name(s: &str) -> bool {
    !s.contains([':', '*'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use logbook_protocol::ErrorCode;

    fn check(f: impl FnOnce(&mut Violations)) -> Option<String> {
        let mut v = Violations::new();
        f(&mut v);
        v.finish().err().map(|e| {
            assert_eq!(e.code, ErrorCode::InvalidParameterException);
            e.message
        })
    }

    #[test]
    fn group_names() {
        let long = "a".repeat(513);
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (Some("app"), None),
            (Some("/aws/lambda/my-fn_1.2#x"), None),
            (Some(&long[..512]), None),
            (
                None,
                Some(
                    "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
                ),
            ),
            (
                Some("a b"),
                Some(
                    r"1 validation error detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
                ),
            ),
            (
                Some("é"),
                Some(
                    r"1 validation error detected: Value 'é' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
                ),
            ),
            (
                Some(""),
                Some(
                    r"2 validation errors detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
                ),
            ),
        ];
        for (name, want) in cases {
            let got = check(|v| {
                let n = v.required("logGroupName", *name);
                v.group_name("logGroupName", n);
            });
            assert_eq!(got.as_deref(), *want, "{name:?}");
        }
        // AWS answers an over-long name with a sentence of its own.
        let got = check(|v| v.group_name("logGroupName", Some(&long))).unwrap();
        assert_eq!(got, NAME_TOO_LONG);
        let got = check(|v| v.stream_name("logStreamName", Some(&"é".repeat(513)))).unwrap();
        assert_eq!(got, NAME_TOO_LONG);
        // A prefix over 512 is an ordinary violation.
        let got = check(|v| v.group_name("logGroupNamePrefix", Some(&long))).unwrap();
        assert!(got.ends_with("Member must have length less than or equal to 512"), "{got}");
    }

    #[test]
    fn huge_values_and_many_violations_stay_readable() {
        let huge = "x".repeat(450_000);
        let got = check(|v| v.length("filterPattern", Some(&huge), 0, 1024)).unwrap();
        assert!(got.len() < 600, "{} bytes", got.len());
        assert!(got.contains("...(449744 more characters)"), "{got}");
        let got = check(|v| {
            for i in 0..30_000 {
                v.push(&format!("tags.{i}"), Some("k!"), "Member must satisfy regular expression pattern: x");
            }
        })
        .unwrap();
        assert!(got.starts_with("30000 validation errors detected: "), "{}", &got[..80]);
        assert!(got.len() < 4_000, "{} bytes", got.len());
    }

    #[test]
    fn stream_names() {
        let cases = [("s-1 with spaces/é#", true), ("a:b", false), ("a*", false), ("", false)];
        for (name, ok) in cases {
            let got = check(|v| v.stream_name("logStreamName", Some(name)));
            assert_eq!(got.is_none(), ok, "{name:?}: {got:?}");
        }
    }

    #[test]
    fn ranges_and_enums() {
        let cases: &[(i64, Option<&str>)] = &[
            (1, None),
            (50, None),
            (
                0,
                Some(
                    "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
                ),
            ),
            (
                51,
                Some(
                    "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
                ),
            ),
        ];
        for (n, want) in cases {
            assert_eq!(check(|v| v.range("limit", Some(*n), 1, 50)).as_deref(), *want);
        }
        let got = check(|v| v.one_of("orderBy", Some("Name"), &["LogStreamName", "LastEventTime"]));
        assert_eq!(
            got.as_deref(),
            Some(
                "1 validation error detected: Value 'Name' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )
        );
    }
}
