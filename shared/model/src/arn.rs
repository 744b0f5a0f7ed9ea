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

#[cfg(test)]
mod tests {
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
