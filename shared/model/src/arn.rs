//! ARNs in AWS's forms.

pub fn log_group(region: &str, account: &str, group: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{group}")
}

/// The `arn` member of DescribeLogGroups, with AWS's trailing `:*`.
pub fn log_group_wildcard(region: &str, account: &str, group: &str) -> String {
    format!("{}:*", log_group(region, account, group))
}

pub fn log_stream(region: &str, account: &str, group: &str, stream: &str) -> String {
    format!("{}:log-stream:{stream}", log_group(region, account, group))
}

/// A CloudWatch Logs ARN read back: `arn:aws:logs:{region}:{account}:{kind}:{name}`, where kind
/// is `log-group` (the name may end in AWS's `:*`, then `wildcard`) or `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsArn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub wildcard: bool,
}

/// Parses a CloudWatch Logs ARN; `None` when it is not one (another service, a malformed
/// account, an empty or colon-holding name).
pub fn parse(arn: &str) -> Option<LogsArn<'_>> {
    let rest = arn.strip_prefix("arn:aws:logs:")?;
    let mut parts = rest.splitn(4, ':');
    let (region, account, kind, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (name, wildcard) = match name.strip_suffix(":*") {
        Some(n) if kind == "log-group" => (n, true),
        _ => (name, false),
    };
    let ok = !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.contains(':');
    ok.then_some(LogsArn { region, account, kind, name, wildcard })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parsed() {
        use super::{LogsArn, parse};
        let g = |name, wildcard| LogsArn {
            region: "us-east-1",
            account: "123456789012",
            kind: "log-group",
            name,
            wildcard,
        };
        let cases: &[(&str, Option<LogsArn>)] = &[
            ("arn:aws:logs:us-east-1:123456789012:log-group:app", Some(g("app", false))),
            ("arn:aws:logs:us-east-1:123456789012:log-group:/a/b.c#d", Some(g("/a/b.c#d", false))),
            ("arn:aws:logs:us-east-1:123456789012:log-group:app:*", Some(g("app", true))),
            (
                "arn:aws:logs:us-east-1:123456789012:destination:d",
                Some(LogsArn {
                    region: "us-east-1",
                    account: "123456789012",
                    kind: "destination",
                    name: "d",
                    wildcard: false,
                }),
            ),
            ("arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s", None),
            ("arn:aws:logs:us-east-1:12345:log-group:app", None),
            ("arn:aws:logs::123456789012:log-group:app", None),
            ("arn:aws:logs:us-east-1:123456789012:log-group:", None),
            ("arn:aws:s3:::bucket", None),
            ("app", None),
        ];
        for (arn, want) in cases {
            assert_eq!(&parse(arn), want, "{arn}");
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            super::log_group("us-east-1", "123456789012", "app"),
            "arn:aws:logs:us-east-1:123456789012:log-group:app"
        );
        assert_eq!(super::log_group_wildcard("us-east-1", "1", "a"), "arn:aws:logs:us-east-1:1:log-group:a:*");
        assert_eq!(super::log_stream("eu-west-1", "1", "a", "s"), "arn:aws:logs:eu-west-1:1:log-group:a:log-stream:s");
    }
}
