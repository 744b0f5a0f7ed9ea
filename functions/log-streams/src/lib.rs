//! The log-streams action group: each handler decodes, validates, calls the store, encodes.

use logbook_model::TokenCodec;
use logbook_model::identifiers;
use logbook_model::logs::{DescribeLogStreamsRequest, LogStream, StreamOrder, StreamRequest};
use logbook_model::token::with_next_token;
use logbook_protocol::{ApiError, Call, Dispatch, ops};
use logbook_storage::streams::StreamCursor;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct LogStreams {
    pub store: Store,
    pub tokens: TokenCodec,
}

impl Dispatch for LogStreams {
    type Op = ops::LogStreams;

    async fn dispatch(&self, op: ops::LogStreams, call: &Call) -> Result<Value, ApiError> {
        use ops::LogStreams as Op;
        match op {
            Op::CreateLogStream => self.create_log_stream(call).await,
            Op::DeleteLogStream => self.delete_log_stream(call).await,
            Op::DescribeLogStreams => self.describe_log_streams(call).await,
        }
    }
}

impl LogStreams {
    async fn create_log_stream(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (group, name) = call.decode::<StreamRequest>()?.validate()?;
        let group = self.store.require_group(id, &group).await?;
        self.store.create_stream(id, &group, &LogStream::new(name, now_millis())).await?;
        Ok(Value::Null)
    }

    async fn delete_log_stream(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let (group, name) = call.decode::<StreamRequest>()?.validate()?;
        let group = self.store.require_group(id, &group).await?;
        self.store.delete_stream(id, &group, &name).await?;
        Ok(Value::Null)
    }

    async fn describe_log_streams(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = identifiers::resolve(call.decode::<DescribeLogStreamsRequest>()?, &call.identity)?.validate()?;
        let group = self.store.require_group(id, &cmd.group).await?;
        // Bound to the group incarnation too: a token outlives neither its group nor its query.
        let order = format!("{:?}", cmd.order);
        let pager = self.tokens.pager(call.action, id, &(&group.id, order, cmd.descending, &cmd.prefix));
        let after: Option<StreamCursor> = pager.start(cmd.next_token.as_deref())?;
        let (streams, more) = self.store.list_streams(id, &group, &cmd, after.as_ref()).await?;
        let next = pager.next(
            more,
            streams.last().map(|s| StreamCursor {
                name: s.name.clone(),
                last_event: (cmd.order == StreamOrder::LastEventTime).then_some(s.last_event_timestamp.unwrap_or(0)),
            }),
        );
        let views: Vec<_> = streams.iter().map(|s| s.view(&id.region, &id.account_id, &group.name)).collect();
        Ok(with_next_token(json!({ "logStreams": views }), next))
    }
}
