//! Constraint checks that produce AWS's `ValidationException` wording:
//! `1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: …`.
//! Violations are collected so one response names every bad member, as AWS does.

use logbook_protocol::{ApiError, ErrorCode};

pub const GROUP_NAME_PATTERN: &str = r"[\.\-_/#A-Za-z0-9]+";
pub const STREAM_NAME_PATTERN: &str = r"[^:*]*";

#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn new() -> Self {
        Violations::default()
    }

    /// Records that `value` (already rendered; `None` is null) at `member` breaks `constraint`.
    pub fn push(&mut self, member: &str, value: Option<&str>, constraint: &str) {
        let value = match value {
            Some(v) => format!("'{v}'"),
            None => "null".to_owned(),
        };
        self.0.push(format!("Value {value} at '{member}' failed to satisfy constraint: {constraint}"));
    }

    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::new(
                ErrorCode::ValidationException,
                format!("1 validation error detected: {}", self.0[0]),
            )),
            n => Err(ApiError::new(
                ErrorCode::ValidationException,
                format!("{n} validation errors detected: {}", self.0.join("; ")),
            )),
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
        self.length(member, value, 1, 512);
        self.pattern(member, value, is_group_name, GROUP_NAME_PATTERN);
    }

    /// A log stream name (or prefix): 1–512 characters, no `:` or `*`.
    pub fn stream_name(&mut self, member: &str, value: Option<&str>) {
        self.length(member, value, 1, 512);
        self.pattern(member, value, is_stream_name, STREAM_NAME_PATTERN);
    }
}

pub fn is_group_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
}

pub fn is_stream_name(s: &str) -> bool {
    !s.contains([':', '*'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut Violations)) -> Option<String> {
        let mut v = Violations::new();
        f(&mut v);
        v.finish().err().map(|e| {
            assert_eq!(e.code, ErrorCode::ValidationException);
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
        let got = check(|v| v.group_name("logGroupName", Some(&long))).unwrap();
        assert!(got.ends_with("Member must have length less than or equal to 512"), "{got}");
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
