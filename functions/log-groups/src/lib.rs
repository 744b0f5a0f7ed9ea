//! The log-groups action group: each handler decodes, validates, calls the store, encodes.

use logbook_model::TokenCodec;
use logbook_model::logs::{
    AssociateKmsKeyRequest, CreateLogGroupRequest, DescribeLogGroupsRequest, GroupRequest, LogGroup,
    PutRetentionPolicyRequest, TagLogGroupRequest, UntagLogGroupRequest,
};
use logbook_model::token::with_next_token;
use logbook_protocol::{Action, ApiError, Call, Dispatch, Group};
use logbook_storage::groups::GroupChange;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct LogGroups {
    pub store: Store,
    pub tokens: TokenCodec,
}

impl Dispatch for LogGroups {
    fn group(&self) -> Group {
        Group::LogGroups
    }

    async fn dispatch(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let store = &self.store;
        match call.action {
            Action::CreateLogGroup => {
                let cmd = call.decode::<CreateLogGroupRequest>()?.validate()?;
                let group = LogGroup {
                    id: ulid::Ulid::new().to_string(),
                    name: cmd.name,
                    creation_time: now_millis(),
                    retention_in_days: None,
                    kms_key_id: cmd.kms_key_id,
                    tags: cmd.tags,
                    metric_filter_count: 0,
                    stored_bytes: 0,
                };
                store.create_group(id, &group).await?;
                Ok(Value::Null)
            }
            Action::DeleteLogGroup => {
                let name = call.decode::<GroupRequest>()?.validate()?;
                store.delete_group(id, &name).await?;
                Ok(Value::Null)
            }
            Action::DescribeLogGroups => {
                let cmd = call.decode::<DescribeLogGroupsRequest>()?.validate()?;
                let scope = format!(
                    "DescribeLogGroups|{}|{}|{}",
                    id.account_id,
                    id.region,
                    cmd.prefix.as_deref().unwrap_or("")
                );
                let after: Option<String> = cmd.next_token.map(|t| self.tokens.open(&scope, &t)).transpose()?;
                let (groups, more) = store.list_groups(id, cmd.prefix.as_deref(), after.as_deref(), cmd.limit).await?;
                let next = more.then(|| groups.last().map(|g| self.tokens.seal(&scope, &g.name))).flatten();
                let views: Vec<_> = groups.iter().map(|g| g.view(&id.region, &id.account_id)).collect();
                Ok(with_next_token(json!({ "logGroups": views }), next))
            }
            Action::PutRetentionPolicy => {
                let (name, days) = call.decode::<PutRetentionPolicyRequest>()?.validate()?;
                store.set_retention(id, &name, Some(days)).await?;
                Ok(Value::Null)
            }
            Action::DeleteRetentionPolicy => {
                let name = call.decode::<GroupRequest>()?.validate()?;
                store.set_retention(id, &name, None).await?;
                Ok(Value::Null)
            }
            Action::AssociateKmsKey => {
                let (name, key) = call.decode::<AssociateKmsKeyRequest>()?.validate()?;
                store.change_group(id, &name, GroupChange::SetKmsKey(key)).await?;
                Ok(Value::Null)
            }
            Action::DisassociateKmsKey => {
                let name = call.decode::<GroupRequest>()?.validate()?;
                store.change_group(id, &name, GroupChange::ClearKmsKey).await?;
                Ok(Value::Null)
            }
            Action::TagLogGroup => {
                let (name, tags) = call.decode::<TagLogGroupRequest>()?.validate()?;
                let group = store.require_group(id, &name).await?;
                let total = group.tags.keys().chain(tags.keys()).collect::<std::collections::BTreeSet<_>>().len();
                if total > logbook_model::logs::MAX_TAGS {
                    return Err(ApiError::invalid_parameter(format!(
                        "A log group can have at most {} tags; this request would give it {total}.",
                        logbook_model::logs::MAX_TAGS
                    )));
                }
                store.change_group(id, &name, GroupChange::Tag(tags.into_iter().collect())).await?;
                Ok(Value::Null)
            }
            Action::UntagLogGroup => {
                let (name, keys) = call.decode::<UntagLogGroupRequest>()?.validate()?;
                store.change_group(id, &name, GroupChange::Untag(keys)).await?;
                Ok(Value::Null)
            }
            Action::ListTagsLogGroup => {
                let name = call.decode::<GroupRequest>()?.validate()?;
                let group = store.require_group(id, &name).await?;
                Ok(json!({ "tags": group.tags }))
            }
            other => Err(logbook_protocol::pipeline::unknown_operation(other.name())),
        }
    }
}
