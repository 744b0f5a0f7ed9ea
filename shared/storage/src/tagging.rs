//! Tags of log groups and destinations, by whichever action names them (TagLogGroup or
//! TagResource, …): one `tags` map on the resource's item, one path per key, so concurrent
//! calls on different keys never overwrite each other.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::logs::GROUP_MISSING;
use logbook_model::subscriptions::DESTINATION_MISSING;
use logbook_model::tagging::Tagged;
use logbook_protocol::{ApiError, Identity};
use serde::Deserialize;

use crate::Store;
use crate::keys::{self, Key, attr};
use crate::table::{Expr, Write, s};

/// A change to a resource's tags.
#[derive(Debug, Clone)]
pub enum TagChange {
    Tag(Vec<(String, String)>),
    Untag(Vec<String>),
}

fn located(id: &Identity, resource: &Tagged) -> (Key, &'static str) {
    match resource {
        Tagged::LogGroup(name) => (keys::group(id, name), GROUP_MISSING),
        Tagged::Destination(name) => (keys::destination(id, name), DESTINATION_MISSING),
    }
}

#[derive(Deserialize)]
struct WithTags {
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

impl Store {
    /// The resource's tags, or `ResourceNotFoundException`.
    pub async fn tags(&self, id: &Identity, resource: &Tagged) -> Result<BTreeMap<String, String>, ApiError> {
        let (key, missing) = located(id, resource);
        let item: Option<WithTags> = self.db().get(&key).await?;
        item.map(|i| i.tags).ok_or_else(|| ApiError::not_found(missing))
    }

    /// Adds or removes tags of an existing resource.
    pub async fn change_tags(&self, id: &Identity, resource: &Tagged, change: TagChange) -> Result<(), ApiError> {
        let (key, missing) = located(id, resource);
        let e = match change {
            TagChange::Tag(tags) => {
                let mut sets = Vec::new();
                let mut e = Expr::default();
                for (i, (k, v)) in tags.into_iter().enumerate() {
                    sets.push(format!("#tags.#k{i} = :v{i}"));
                    e = e.name(format!("#k{i}"), k).value(format!(":v{i}"), s(v));
                }
                // A nested path needs its map: a group item always has one (possibly empty); a
                // destination gets it on its first tags (a condition failure: it has one, or it
                // does not exist, which the update below answers).
                if matches!(resource, Tagged::Destination(_)) {
                    let init = Expr::update("SET #tags = :empty")
                        .name("#tags", attr::TAGS)
                        .value(":empty", AttributeValue::M(Default::default()))
                        .and_when("attribute_exists(pk) AND attribute_not_exists(#tags)");
                    let _: Write = self.db().update(&key, init).await?;
                }
                Expr::update(format!("SET {}", sets.join(", "))).merge(e).name("#tags", attr::TAGS)
            }
            TagChange::Untag(keys) => {
                if keys.is_empty() {
                    // Nothing to remove; the resource must still exist.
                    return self.tags(id, resource).await.map(|_| ());
                }
                let mut removes = Vec::new();
                let mut e = Expr::default();
                for (i, k) in keys.into_iter().enumerate() {
                    removes.push(format!("#tags.#k{i}"));
                    e = e.name(format!("#k{i}"), k);
                }
                Expr::update(format!("REMOVE {}", removes.join(", "))).merge(e).name("#tags", attr::TAGS)
            }
        };
        match self.db().update(&key, e.and_when("attribute_exists(pk)")).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(ApiError::not_found(missing)),
        }
    }
}
