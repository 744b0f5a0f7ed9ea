//! `logGroupIdentifier`: how today's API names a log group on the actions that take it (its name,
//! or its ARN without the trailing `:*`), next to the 2018 `logGroupName`.
//!
//! The identifier is resolved to a name before validation, against the caller's account and
//! region, so every action goes on with the `logGroupName` it always had:
//! - both given: `ValidationException` "LogGroup name and LogGroup ARN are mutually exclusive
//!   parameters." (AWS's answer, recorded by peers);
//! - an ARN of another account: `AccessDeniedException` (no cross-account observability here,
//!   so no identity may read another account's group, as IAM answers without a link);
//! - an ARN of another region: `ResourceNotFoundException` (no such group at this endpoint);
//! - an ARN with AWS's trailing `:*`, or not a log group's ARN: `InvalidParameterException`.

use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::Violations;
use crate::arn;

pub const MUTUALLY_EXCLUSIVE: &str = "LogGroup name and LogGroup ARN are mutually exclusive parameters.";
const IDENTIFIER_PATTERN: &str = r"[\w#+=/:,.@-]*";

/// A request that names its log group by `logGroupName` or `logGroupIdentifier`.
pub trait NamesGroup {
    /// (`logGroupName`, `logGroupIdentifier`).
    fn group_members(&mut self) -> (&mut Option<String>, &mut Option<String>);
}

/// Moves a checked `logGroupIdentifier` into `logGroupName`.
pub fn resolve<T: NamesGroup>(mut request: T, id: &Identity) -> Result<T, ApiError> {
    let (name, identifier) = request.group_members();
    match identifier.take() {
        None => {}
        Some(_) if name.is_some() => return Err(ApiError::new(ErrorCode::ValidationException, MUTUALLY_EXCLUSIVE)),
        Some(identifier) => *name = Some(group_name("logGroupIdentifier", &identifier, id)?),
    }
    Ok(request)
}

/// The group name a log group identifier (name or ARN) names in the caller's account and region.
pub fn group_name(member: &str, identifier: &str, id: &Identity) -> Result<String, ApiError> {
    let mut v = Violations::new();
    v.length(member, Some(identifier), 1, 2048);
    v.pattern(
        member,
        Some(identifier),
        |s| s.chars().all(|c| c.is_alphanumeric() || c == '_' || "#+=/:,.@-".contains(c)),
        IDENTIFIER_PATTERN,
    );
    v.finish()?;
    if !identifier.starts_with("arn:") {
        return Ok(identifier.to_owned());
    }
    let parsed = arn::parse(identifier).filter(|a| a.kind == "log-group");
    let Some(a) = parsed else {
        return Err(ApiError::invalid_parameter(format!("{member} is not a log group name or ARN: {identifier}")));
    };
    if a.wildcard {
        return Err(ApiError::invalid_parameter(format!(
            "{member} takes a log group ARN without the trailing :* ({identifier})"
        )));
    }
    same_place(&a, id)?;
    Ok(a.name.to_owned())
}

/// The caller may use the resource an ARN names: its own account, this region.
pub fn same_place(a: &arn::LogsArn<'_>, id: &Identity) -> Result<(), ApiError> {
    if a.account != id.account_id {
        return Err(ApiError::new(
            ErrorCode::AccessDeniedException,
            format!(
                "User with account ID {} is not authorized to access a resource of account {} (no cross-account access is configured).",
                id.account_id, a.account
            ),
        ));
    }
    if a.region != id.region {
        let what = if a.kind == "destination" { "destination" } else { "log group" };
        return Err(ApiError::not_found(format!("The specified {what} does not exist.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Req(Option<String>, Option<String>);
    impl NamesGroup for Req {
        fn group_members(&mut self) -> (&mut Option<String>, &mut Option<String>) {
            (&mut self.0, &mut self.1)
        }
    }

    #[test]
    fn identifiers_resolve_or_answer_as_aws() {
        let id = Identity {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            user_name: None,
        };
        let s = |v: &str| Some(v.to_owned());
        let arn = |region: &str, account: &str, rest: &str| s(&format!("arn:aws:logs:{region}:{account}:{rest}"));
        use ErrorCode::*;
        let cases: Vec<(Req, Result<Option<String>, ErrorCode>)> = vec![
            (Req(s("app"), None), Ok(s("app"))),
            (Req(None, s("app")), Ok(s("app"))),
            (Req(None, s("/aws/lambda/f")), Ok(s("/aws/lambda/f"))),
            (Req(None, arn("us-east-1", "123456789012", "log-group:/a/b")), Ok(s("/a/b"))),
            (Req(None, None), Ok(None)),
            (Req(s("app"), s("app")), Err(ValidationException)),
            (Req(s("app"), arn("us-east-1", "123456789012", "log-group:app")), Err(ValidationException)),
            (Req(None, arn("us-east-1", "123456789012", "log-group:app:*")), Err(InvalidParameterException)),
            (Req(None, arn("us-east-1", "123456789012", "destination:d")), Err(InvalidParameterException)),
            (Req(None, arn("us-east-1", "210987654321", "log-group:app")), Err(AccessDeniedException)),
            (Req(None, arn("eu-west-1", "123456789012", "log-group:app")), Err(ResourceNotFoundException)),
            (Req(None, s("")), Err(InvalidParameterException)),
            (Req(None, s("a b")), Err(InvalidParameterException)),
            (Req(None, s(&"a".repeat(2049))), Err(InvalidParameterException)),
        ];
        for (req, want) in cases {
            let shown = format!("{:?} {:?}", req.0, req.1);
            let got = resolve(req, &id).map(|r| r.0).map_err(|e| e.code);
            assert_eq!(got, want, "{shown}");
        }
        let e = resolve(Req(s("a"), s("a")), &id).err().unwrap();
        assert_eq!(e.message, MUTUALLY_EXCLUSIVE);
    }
}
