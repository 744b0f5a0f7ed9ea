//! Who is calling: account, region, access key and principal, as the authenticator
//! (`logbook-auth`) proved them. Every table key is scoped by `account_id` and `region`.

/// The resolved caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account_id: String,
    pub region: String,
    pub access_key_id: Option<String>,
    /// IAM user name, or `None` for the account root (and anonymous callers).
    pub user_name: Option<String>,
}

impl Identity {
    /// An account's and region's scope with no caller in it: background work (the worker, the
    /// fan-out) and reads of another account's resources (a destination).
    pub fn of(account: &str, region: &str) -> Identity {
        Identity { account_id: account.to_owned(), region: region.to_owned(), access_key_id: None, user_name: None }
    }

    /// The principal's ARN, as CloudTrail's `userIdentity.arn` shows it.
    pub fn principal_arn(&self) -> String {
        match &self.user_name {
            Some(u) => format!("arn:aws:iam::{}:user/{u}", self.account_id),
            None => format!("arn:aws:iam::{}:root", self.account_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals() {
        let mut id = Identity {
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            user_name: None,
        };
        assert_eq!(id.principal_arn(), "arn:aws:iam::111122223333:root");
        id.user_name = Some("alice".into());
        assert_eq!(id.principal_arn(), "arn:aws:iam::111122223333:user/alice");
    }
}
