//! Tagging by ARN (today's API): TagResource, UntagResource and ListTagsForResource for log
//! groups (the ARN without `:*`) and destinations. The tags are the ones TagLogGroup /
//! UntagLogGroup / ListTagsLogGroup change and show, with the same rules.

use std::collections::{BTreeMap, HashMap};

use logbook_protocol::{ApiError, ErrorCode, Identity};
use serde::Deserialize;

use crate::identifiers::same_place;
use crate::logs::{MAX_TAGS, required_tag_keys, required_tags, reserved_tag_keys, unique_keys};
use crate::{Violations, arn};

/// A resource tags belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    LogGroup(String),
    Destination(String),
}

const ARN_PATTERN: &str = r"[\w+=/:,.@-]*";

/// The resource `resourceArn` names in the caller's account and region.
fn tagged(v: &mut Violations, resource_arn: Option<&str>, id: &Identity) -> Result<Option<Tagged>, ApiError> {
    let resource_arn = v.required("resourceArn", resource_arn);
    v.length("resourceArn", resource_arn, 1, 1011);
    v.pattern(
        "resourceArn",
        resource_arn,
        |s| s.chars().all(|c| c.is_alphanumeric() || "_+=/:,.@-".contains(c)),
        ARN_PATTERN,
    );
    let Some(text) = resource_arn else { return Ok(None) };
    let Some(a) = arn::parse(text).filter(|a| !a.wildcard && (a.kind == "log-group" || a.kind == "destination")) else {
        // Returned after the members' constraint violations (the caller finishes those first).
        return if text.is_empty() {
            Ok(None)
        } else {
            Err(ApiError::invalid_parameter(format!(
                "{text} is not the ARN of a log group (without :*) or a destination."
            )))
        };
    };
    same_place(&a, id)?;
    Ok(Some(match a.kind {
        "log-group" => Tagged::LogGroup(a.name.to_owned()),
        _ => Tagged::Destination(a.name.to_owned()),
    }))
}

/// The member constraints first (one answer naming them all), then the ARN's own answer. A missing
/// or empty ARN is one of the constraint violations, so the target is there once they pass.
fn resolved(v: Violations, target: Result<Option<Tagged>, ApiError>) -> Result<Tagged, ApiError> {
    v.finish()?;
    target?.ok_or_else(|| ApiError::invalid_parameter("resourceArn is required."))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    pub resource_arn: Option<String>,
    pub tags: Option<HashMap<String, String>>,
}

impl TagResourceRequest {
    pub fn validate(self, id: &Identity) -> Result<(Tagged, BTreeMap<String, String>), ApiError> {
        let mut v = Violations::new();
        required_tags(&mut v, self.tags.as_ref());
        let target = tagged(&mut v, self.resource_arn.as_deref(), id);
        let target = resolved(v, target)?;
        let tags = self.tags.unwrap_or_default();
        reserved_tag_keys(tags.keys())?;
        Ok((target, tags.into_iter().collect()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    pub resource_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

impl UntagResourceRequest {
    pub fn validate(self, id: &Identity) -> Result<(Tagged, Vec<String>), ApiError> {
        let mut v = Violations::new();
        required_tag_keys(&mut v, "tagKeys", self.tag_keys.as_ref(), 0);
        let target = tagged(&mut v, self.resource_arn.as_deref(), id);
        Ok((resolved(v, target)?, unique_keys(self.tag_keys)))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    pub resource_arn: Option<String>,
}

impl ListTagsForResourceRequest {
    pub fn validate(self, id: &Identity) -> Result<Tagged, ApiError> {
        let mut v = Violations::new();
        let target = tagged(&mut v, self.resource_arn.as_deref(), id);
        resolved(v, target)
    }
}

/// TagResource's answer when the resource would have more than [`MAX_TAGS`] tags.
pub fn too_many_tags(arn: &str, total: usize) -> ApiError {
    ApiError::new(
        ErrorCode::TooManyTagsException,
        format!("A resource can have at most {MAX_TAGS} tags; this request would give {arn} {total}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity { account_id: "123456789012".into(), region: "us-east-1".into(), access_key_id: None, user_name: None }
    }

    #[test]
    fn resource_arns_and_tag_rules() {
        let tags = |pairs: &[(&str, &str)]| Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let req = |arn: &str, t| TagResourceRequest { resource_arn: Some(arn.into()), tags: t };
        let group = "arn:aws:logs:us-east-1:123456789012:log-group:app";
        let dest = "arn:aws:logs:us-east-1:123456789012:destination:d";
        use ErrorCode::*;
        let cases: Vec<(TagResourceRequest, Result<Tagged, ErrorCode>)> = vec![
            (req(group, tags(&[("team", "a")])), Ok(Tagged::LogGroup("app".into()))),
            (req(dest, tags(&[("team", "a")])), Ok(Tagged::Destination("d".into()))),
            (req(&format!("{group}:*"), tags(&[("k", "v")])), Err(InvalidParameterException)),
            (
                req("arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s", tags(&[("k", "v")])),
                Err(InvalidParameterException),
            ),
            (req("arn:aws:s3:::bucket", tags(&[("k", "v")])), Err(InvalidParameterException)),
            (req("arn:aws:logs:us-east-1:210987654321:log-group:app", tags(&[("k", "v")])), Err(AccessDeniedException)),
            (
                req("arn:aws:logs:eu-west-1:123456789012:log-group:app", tags(&[("k", "v")])),
                Err(ResourceNotFoundException),
            ),
            (req(group, tags(&[])), Err(InvalidParameterException)),
            (req(group, None), Err(InvalidParameterException)),
            (req(group, tags(&[("aws:x", "v")])), Err(InvalidParameterException)),
            (req(group, tags(&[("bad*key", "v")])), Err(InvalidParameterException)),
            (req(group, tags(&[(&"k".repeat(129), "v")])), Err(InvalidParameterException)),
            (req(group, tags(&[("k", &"v".repeat(257))])), Err(InvalidParameterException)),
            (TagResourceRequest { resource_arn: None, tags: tags(&[("k", "v")]) }, Err(InvalidParameterException)),
        ];
        for (r, want) in cases {
            let shown = format!("{r:?}");
            assert_eq!(r.validate(&id()).map(|(t, _)| t).map_err(|e| e.code), want, "{shown}");
        }
        let many: HashMap<String, String> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(req(group, Some(many)).validate(&id()).is_err(), "51 tags in one request");
        let untag = UntagResourceRequest {
            resource_arn: Some(dest.into()),
            tag_keys: Some(vec!["b".into(), "a".into(), "b".into()]),
        };
        assert_eq!(untag.validate(&id()).unwrap(), (Tagged::Destination("d".into()), vec!["a".into(), "b".into()]));
        let list = ListTagsForResourceRequest { resource_arn: Some(group.into()) };
        assert_eq!(list.validate(&id()).unwrap(), Tagged::LogGroup("app".into()));
    }
}
