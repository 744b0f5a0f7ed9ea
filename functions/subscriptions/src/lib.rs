//! The subscriptions action group: subscription filters (PutSubscriptionFilter,
//! DeleteSubscriptionFilter, DescribeSubscriptionFilters) and destinations (PutDestination,
//! PutDestinationPolicy, DeleteDestination, DescribeDestinations). What they deliver is sent by
//! the fan-out (`functions/fanout`); these handlers store the configuration and send the health
//! check AWS sends when a filter or destination is put.

use logbook_delivery::{Target, Targets};
use logbook_model::TokenCodec;
use logbook_model::subscriptions::{
    DeleteSubscriptionFilterRequest, DescribeDestinationsRequest, DescribeSubscriptionFiltersRequest, Destination,
    DestinationNameRequest, LIMIT_EXCEEDED, MAX_SUBSCRIPTION_FILTERS, PutDestinationPolicyRequest,
    PutDestinationRequest, PutSubscriptionFilterRequest, SubscriptionFilter, TargetArn, destination_arn, policy_allows,
};
use logbook_model::token::with_next_token;
use logbook_protocol::{ApiError, Call, Dispatch, ErrorCode, Identity, ops};
use logbook_storage::subscriptions::NameCursor;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct Subscriptions {
    pub store: Store,
    pub tokens: TokenCodec,
    pub targets: Targets,
}

impl Dispatch for Subscriptions {
    type Op = ops::Subscriptions;

    async fn dispatch(&self, op: ops::Subscriptions, call: &Call) -> Result<Value, ApiError> {
        use ops::Subscriptions as Op;
        match op {
            Op::PutSubscriptionFilter => self.put_subscription_filter(call).await,
            Op::DeleteSubscriptionFilter => self.delete_subscription_filter(call).await,
            Op::DescribeSubscriptionFilters => self.describe_subscription_filters(call).await,
            Op::PutDestination => self.put_destination(call).await,
            Op::PutDestinationPolicy => self.put_destination_policy(call).await,
            Op::DeleteDestination => self.delete_destination(call).await,
            Op::DescribeDestinations => self.describe_destinations(call).await,
        }
    }
}

const DESTINATION_UNDELIVERABLE: &str =
    "Could not deliver test message to specified destination. Check if the destination is valid.";

/// AWS's answer when the health check cannot reach a filter's target.
fn undeliverable(target: &Target, through_destination: bool) -> ApiError {
    let message = match target {
        _ if through_destination => DESTINATION_UNDELIVERABLE,
        Target::Lambda { .. } => {
            "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute \
             your function."
        }
        // "steam" is AWS's own spelling.
        Target::Kinesis { .. } => {
            "Could not deliver test message to specified Kinesis stream. Check if the given kinesis steam is in \
             ACTIVE state."
        }
        Target::Firehose { .. } => {
            "Could not deliver test message to specified Firehose stream. Check if the given Firehose stream is in \
             ACTIVE state."
        }
    };
    ApiError::invalid_parameter(message)
}

fn not_authorized(account: &str, arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::AccessDeniedException,
        format!(
            "User with accountId: {account} is not authorized to perform: logs:PutSubscriptionFilter on resource: {arn}"
        ),
    )
}

/// A filter as DescribeSubscriptionFilters shows it (today's AWS adds `applyOnTransformedLogs`).
fn filter_view(f: &SubscriptionFilter) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or_default();
    v["applyOnTransformedLogs"] = Value::Bool(false);
    v
}

impl Subscriptions {
    async fn put_subscription_filter(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (mut filter, arn) = call.decode::<PutSubscriptionFilterRequest>()?.validate(&id.account_id)?;
        // The destination before the log group, as AWS checks them.
        let (target, through_destination) = match &arn {
            TargetArn::Destination { region, account, name } => {
                let owner = Identity::of(account, region);
                let found = if *region == id.region { self.store.get_destination(&owner, name).await? } else { None };
                let cross = *account != id.account_id;
                if cross
                    && !found
                        .as_ref()
                        .and_then(|d| d.access_policy.as_deref())
                        .is_some_and(|p| policy_allows(p, &id.account_id, &filter.destination_arn))
                {
                    return Err(not_authorized(&id.account_id, &filter.destination_arn));
                }
                let d = found.ok_or_else(|| ApiError::invalid_parameter(DESTINATION_UNDELIVERABLE))?;
                let target = Target::of(&d.target_arn, Some(&d.role_arn))
                    .ok_or_else(|| ApiError::invalid_parameter(DESTINATION_UNDELIVERABLE))?;
                (target, true)
            }
            _ => {
                let target = Target::of(&filter.destination_arn, filter.role_arn.as_deref())
                    .ok_or_else(|| ApiError::internal("a validated destination ARN names no target"))?;
                (target, false)
            }
        };
        let group = self.store.require_group(id, &filter.log_group_name).await?;
        // A new name at the limit fails before any health check is sent (the write checks the
        // limit again, atomically).
        let existing = self.store.subscription_filters(id, &group.id).await?;
        if !existing.iter().any(|f| f.filter_name == filter.filter_name)
            && existing.len() as i64 >= MAX_SUBSCRIPTION_FILTERS
        {
            return Err(ApiError::new(ErrorCode::LimitExceededException, LIMIT_EXCEEDED));
        }
        let now = now_millis();
        if let Err(f) = self.targets.test(&target, now).await {
            tracing::info!(target = ?target, detail = %f.detail, "subscription filter health check failed");
            return Err(undeliverable(&target, through_destination));
        }
        filter.creation_time = now;
        self.store.put_subscription_filter(id, &group, &filter).await?;
        Ok(Value::Null)
    }

    async fn delete_subscription_filter(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (group, name) = call.decode::<DeleteSubscriptionFilterRequest>()?.validate()?;
        let group = self.store.require_group(id, &group).await?;
        self.store.delete_subscription_filter(id, &group, &name).await?;
        Ok(Value::Null)
    }

    async fn describe_subscription_filters(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<DescribeSubscriptionFiltersRequest>()?.validate()?;
        let pager = self.tokens.pager(call.action, id, &(&cmd.group, &cmd.prefix));
        let after: Option<NameCursor> = pager.start(cmd.next_token.as_deref())?;
        let group = self.store.require_group(id, &cmd.group).await?;
        // Two filters at most: read them all, filter and page here.
        let mut all = self.store.subscription_filters(id, &group.id).await?;
        all.retain(|f| {
            cmd.prefix.as_deref().is_none_or(|p| f.filter_name.starts_with(p))
                && after.as_ref().is_none_or(|a| f.filter_name > a.name)
        });
        let more = all.len() > cmd.limit;
        all.truncate(cmd.limit);
        let next = pager.next(more, all.last().map(|f| NameCursor { name: f.filter_name.clone() }));
        let filters: Vec<Value> = all.iter().map(filter_view).collect();
        Ok(with_next_token(json!({ "subscriptionFilters": filters }), next))
    }

    async fn put_destination(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (name, target_arn, role_arn, _) = call.decode::<PutDestinationRequest>()?.validate()?;
        let target = Target::of(&target_arn, Some(&role_arn))
            .ok_or_else(|| ApiError::invalid_parameter(DESTINATION_UNDELIVERABLE))?;
        let now = now_millis();
        if let Err(f) = self.targets.test(&target, now).await {
            tracing::info!(target = ?target, detail = %f.detail, "destination health check failed");
            return Err(ApiError::invalid_parameter(DESTINATION_UNDELIVERABLE));
        }
        let d = Destination {
            arn: destination_arn(&id.region, &id.account_id, &name),
            destination_name: name,
            target_arn,
            role_arn,
            access_policy: None,
            creation_time: now,
        };
        let stored = self.store.put_destination(id, &d).await?;
        Ok(json!({ "destination": stored }))
    }

    async fn put_destination_policy(&self, call: &Call) -> Result<Value, ApiError> {
        let (name, policy) = call.decode::<PutDestinationPolicyRequest>()?.validate()?;
        self.store.put_destination_policy(&call.identity, &name, &policy).await?;
        Ok(Value::Null)
    }

    async fn delete_destination(&self, call: &Call) -> Result<Value, ApiError> {
        let name = call.decode::<DestinationNameRequest>()?.validate()?;
        self.store.delete_destination(&call.identity, &name).await?;
        Ok(Value::Null)
    }

    async fn describe_destinations(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<DescribeDestinationsRequest>()?.validate()?;
        let pager = self.tokens.pager(call.action, id, &cmd.prefix);
        let after: Option<NameCursor> = pager.start(cmd.next_token.as_deref())?;
        let (list, more) = self
            .store
            .list_destinations(id, cmd.prefix.as_deref(), after.as_ref().map(|a| a.name.as_str()), cmd.limit)
            .await?;
        let next = pager.next(more, list.last().map(|d| NameCursor { name: d.destination_name.clone() }));
        Ok(with_next_token(json!({ "destinations": list }), next))
    }
}
