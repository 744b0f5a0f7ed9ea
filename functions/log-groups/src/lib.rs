//! The log-groups action group: log groups and the account's log settings (resource
//! policies). Each handler decodes, validates, calls the store, encodes.

use logbook_model::TokenCodec;
use logbook_model::identifiers;
use logbook_model::logs::{
    AssociateKmsKeyRequest, CreateLogGroupRequest, DescribeLogGroupsRequest, GroupRequest, ListLogGroupsRequest,
    LogGroup, MAX_TAGS, PutLogGroupDeletionProtectionRequest, PutRetentionPolicyRequest, TagLogGroupRequest,
    UntagLogGroupRequest,
};
use logbook_model::policies::{
    DeleteResourcePolicyRequest, DescribeResourcePoliciesRequest, PolicyCursor, PutResourcePolicyRequest,
    ResourcePolicy,
};
use logbook_model::tagging::{
    ListTagsForResourceRequest, TagResourceRequest, Tagged, UntagResourceRequest, too_many_tags,
};
use logbook_model::token::with_next_token;
use logbook_protocol::{ApiError, Call, Dispatch, ops};
use logbook_storage::groups::GroupChange;
use logbook_storage::tagging::TagChange;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct LogGroups {
    pub store: Store,
    pub tokens: TokenCodec,
}

impl Dispatch for LogGroups {
    type Op = ops::LogGroups;

    async fn dispatch(&self, op: ops::LogGroups, call: &Call) -> Result<Value, ApiError> {
        use ops::LogGroups as Op;
        match op {
            Op::AssociateKmsKey => self.associate_kms_key(call).await,
            Op::CreateLogGroup => self.create_log_group(call).await,
            Op::DeleteLogGroup => self.delete_log_group(call).await,
            Op::DeleteRetentionPolicy => self.delete_retention_policy(call).await,
            Op::DescribeLogGroups => self.describe_log_groups(call).await,
            Op::DisassociateKmsKey => self.disassociate_kms_key(call).await,
            Op::ListTagsLogGroup => self.list_tags_log_group(call).await,
            Op::PutRetentionPolicy => self.put_retention_policy(call).await,
            Op::TagLogGroup => self.tag_log_group(call).await,
            Op::UntagLogGroup => self.untag_log_group(call).await,
            Op::PutResourcePolicy => self.put_resource_policy(call).await,
            Op::DescribeResourcePolicies => self.describe_resource_policies(call).await,
            Op::DeleteResourcePolicy => self.delete_resource_policy(call).await,
            Op::ListLogGroups => self.list_log_groups(call).await,
            Op::PutLogGroupDeletionProtection => self.put_log_group_deletion_protection(call).await,
            Op::TagResource => self.tag_resource(call).await,
            Op::UntagResource => self.untag_resource(call).await,
            Op::ListTagsForResource => self.list_tags_for_resource(call).await,
        }
    }
}

impl LogGroups {
    async fn put_resource_policy(&self, call: &Call) -> Result<Value, ApiError> {
        let (name, document) = call.decode::<PutResourcePolicyRequest>()?.validate()?;
        let policy = ResourcePolicy { policy_name: name, policy_document: document, last_updated_time: now_millis() };
        self.store.put_resource_policy(&call.identity, &policy).await?;
        Ok(json!({ "resourcePolicy": policy.put_view() }))
    }

    async fn describe_resource_policies(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (token, limit) = call.decode::<DescribeResourcePoliciesRequest>()?.validate()?;
        let pager = self.tokens.pager(call.action, id, &());
        let after: Option<PolicyCursor> = pager.start(token.as_deref())?;
        // At most ten: read whole, paged here.
        let all = self.store.resource_policies(id).await?;
        let rest: Vec<&ResourcePolicy> =
            all.iter().filter(|p| after.as_ref().is_none_or(|a| p.policy_name > a.name)).collect();
        let page = &rest[..rest.len().min(limit)];
        let next = pager.next(rest.len() > limit, page.last().map(|p| PolicyCursor { name: p.policy_name.clone() }));
        let views: Vec<Value> = page.iter().map(|p| p.describe_view()).collect();
        Ok(with_next_token(json!({ "resourcePolicies": views }), next))
    }

    async fn delete_resource_policy(&self, call: &Call) -> Result<Value, ApiError> {
        let name = call.decode::<DeleteResourcePolicyRequest>()?.validate()?;
        self.store.delete_resource_policy(&call.identity, &name).await?;
        Ok(Value::Null)
    }

    async fn create_log_group(&self, call: &Call) -> Result<Value, ApiError> {
        let group = call.decode::<CreateLogGroupRequest>()?.validate()?.into_group(now_millis());
        self.store.create_group(&call.identity, &group).await?;
        Ok(Value::Null)
    }

    async fn delete_log_group(&self, call: &Call) -> Result<Value, ApiError> {
        let name = call.decode::<GroupRequest>()?.validate()?;
        self.store.delete_group(&call.identity, &name).await?;
        Ok(Value::Null)
    }

    async fn describe_log_groups(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<DescribeLogGroupsRequest>()?.validate()?;
        let bound = (&cmd.prefix, &cmd.pattern, &cmd.class);
        let pager = self.tokens.pager(call.action, id, &bound);
        let after: Option<String> = pager.start(cmd.next_token.as_deref())?;
        let (groups, more) = self.filtered(call, cmd.prefix.as_deref(), after, cmd.limit, |g| cmd.wants(g)).await?;
        let next = pager.next(more, groups.last().map(|g| &g.name));
        let views: Vec<Value> = groups
            .iter()
            .map(|g| {
                if cmd.pattern.is_some() {
                    g.pattern_view(&id.region, &id.account_id)
                } else {
                    json!(g.view(&id.region, &id.account_id))
                }
            })
            .collect();
        Ok(with_next_token(json!({ "logGroups": views }), next))
    }

    async fn list_log_groups(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<ListLogGroupsRequest>()?.validate()?;
        let bound = (cmd.pattern.as_ref().map(|p| format!("{p:?}")), &cmd.class);
        let pager = self.tokens.pager(call.action, id, &bound);
        let after: Option<String> = pager.start(cmd.next_token.as_deref())?;
        let (groups, more) = self.filtered(call, None, after, cmd.limit, |g| cmd.wants(g)).await?;
        let next = pager.next(more, groups.last().map(|g| &g.name));
        let views: Vec<Value> = groups.iter().map(|g| g.summary(&id.region, &id.account_id)).collect();
        Ok(with_next_token(json!({ "logGroups": views }), next))
    }

    /// Up to `limit` groups in name order after `after` that `wants` keeps, and whether more
    /// may follow. Reads pages of `limit` (one page when nothing is filtered out) and goes on
    /// while a filter leaves the page short: an account holds at most 5,000 groups.
    async fn filtered(
        &self,
        call: &Call,
        prefix: Option<&str>,
        mut after: Option<String>,
        limit: usize,
        wants: impl Fn(&LogGroup) -> bool,
    ) -> Result<(Vec<LogGroup>, bool), ApiError> {
        let mut out = Vec::new();
        loop {
            let (page, more) = self.store.list_groups(&call.identity, prefix, after.as_deref(), limit).await?;
            after = page.last().map(|g| g.name.clone());
            let read = page.len();
            for (i, g) in page.into_iter().enumerate() {
                if wants(&g) {
                    out.push(g);
                    if out.len() == limit {
                        return Ok((out, more || i + 1 < read));
                    }
                }
            }
            if !more {
                return Ok((out, false));
            }
        }
    }

    async fn put_log_group_deletion_protection(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (identifier, on) = call.decode::<PutLogGroupDeletionProtectionRequest>()?.validate()?;
        let name = identifiers::group_name("logGroupIdentifier", &identifier, id)?;
        self.store.change_group(id, &name, GroupChange::DeletionProtection(on)).await?;
        Ok(Value::Null)
    }

    async fn tag_resource(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let request = call.decode::<TagResourceRequest>()?;
        let arn = request.resource_arn.clone().unwrap_or_default();
        let (resource, tags) = request.validate(id)?;
        let total = self.tags_after(id, &resource, &tags).await?;
        if total > MAX_TAGS {
            return Err(too_many_tags(&arn, total));
        }
        self.store.change_tags(id, &resource, TagChange::Tag(tags.into_iter().collect())).await?;
        Ok(Value::Null)
    }

    /// How many tags `resource` would have with `tags` added (TagResource and TagLogGroup answer
    /// a count over 50 each in its own way).
    async fn tags_after(
        &self,
        id: &logbook_protocol::Identity,
        resource: &Tagged,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<usize, ApiError> {
        let current = self.store.tags(id, resource).await?;
        Ok(current.keys().chain(tags.keys()).collect::<std::collections::BTreeSet<_>>().len())
    }

    async fn untag_resource(&self, call: &Call) -> Result<Value, ApiError> {
        let (resource, keys) = call.decode::<UntagResourceRequest>()?.validate(&call.identity)?;
        self.store.change_tags(&call.identity, &resource, TagChange::Untag(keys)).await?;
        Ok(Value::Null)
    }

    async fn list_tags_for_resource(&self, call: &Call) -> Result<Value, ApiError> {
        let resource = call.decode::<ListTagsForResourceRequest>()?.validate(&call.identity)?;
        Ok(json!({ "tags": self.store.tags(&call.identity, &resource).await? }))
    }

    async fn put_retention_policy(&self, call: &Call) -> Result<Value, ApiError> {
        let (name, days) = call.decode::<PutRetentionPolicyRequest>()?.validate()?;
        self.store.set_retention(&call.identity, &name, Some(days)).await?;
        Ok(Value::Null)
    }

    async fn delete_retention_policy(&self, call: &Call) -> Result<Value, ApiError> {
        let name = call.decode::<GroupRequest>()?.validate()?;
        self.store.set_retention(&call.identity, &name, None).await?;
        Ok(Value::Null)
    }

    async fn associate_kms_key(&self, call: &Call) -> Result<Value, ApiError> {
        let (name, key) = call.decode::<AssociateKmsKeyRequest>()?.validate()?;
        self.store.change_group(&call.identity, &name, GroupChange::SetKmsKey(key)).await?;
        Ok(Value::Null)
    }

    async fn disassociate_kms_key(&self, call: &Call) -> Result<Value, ApiError> {
        let name = call.decode::<GroupRequest>()?.validate()?;
        self.store.change_group(&call.identity, &name, GroupChange::ClearKmsKey).await?;
        Ok(Value::Null)
    }

    async fn tag_log_group(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (name, tags) = call.decode::<TagLogGroupRequest>()?.validate()?;
        let group = Tagged::LogGroup(name);
        let total = self.tags_after(id, &group, &tags).await?;
        if total > MAX_TAGS {
            return Err(ApiError::invalid_parameter(format!(
                "A log group can have at most {MAX_TAGS} tags; this request would give it {total}."
            )));
        }
        self.store.change_tags(id, &group, TagChange::Tag(tags.into_iter().collect())).await?;
        Ok(Value::Null)
    }

    async fn untag_log_group(&self, call: &Call) -> Result<Value, ApiError> {
        let (name, keys) = call.decode::<UntagLogGroupRequest>()?.validate()?;
        self.store.change_tags(&call.identity, &Tagged::LogGroup(name), TagChange::Untag(keys)).await?;
        Ok(Value::Null)
    }

    async fn list_tags_log_group(&self, call: &Call) -> Result<Value, ApiError> {
        let name = call.decode::<GroupRequest>()?.validate()?;
        Ok(json!({ "tags": self.store.tags(&call.identity, &Tagged::LogGroup(name)).await? }))
    }
}
