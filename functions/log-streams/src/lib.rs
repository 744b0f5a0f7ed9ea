//! The log-streams action group: each handler decodes, validates, calls the store, encodes.

use logbook_model::TokenCodec;
use logbook_model::logs::{DescribeLogStreamsRequest, LogStream, StreamOrder, StreamRequest};
use logbook_model::token::with_next_token;
use logbook_protocol::{Action, ApiError, Call, Dispatch, Group};
use logbook_storage::streams::StreamCursor;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct LogStreams {
    pub store: Store,
    pub tokens: TokenCodec,
}

impl Dispatch for LogStreams {
    fn group(&self) -> Group {
        Group::LogStreams
    }

    async fn dispatch(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let store = &self.store;
        match call.action {
            Action::CreateLogStream => {
                let (group, name) = call.decode::<StreamRequest>()?.validate()?;
                let group = store.require_group(id, &group).await?;
                let stream = LogStream {
                    id: ulid::Ulid::new().to_string(),
                    name,
                    creation_time: now_millis(),
                    first_event_timestamp: None,
                    last_event_timestamp: None,
                    last_ingestion_time: None,
                    upload_sequence_token: None,
                };
                store.create_stream(id, &group, &stream).await?;
                Ok(Value::Null)
            }
            Action::DeleteLogStream => {
                let (group, name) = call.decode::<StreamRequest>()?.validate()?;
                let group = store.require_group(id, &group).await?;
                store.delete_stream(id, &group, &name).await?;
                Ok(Value::Null)
            }
            Action::DescribeLogStreams => {
                let cmd = call.decode::<DescribeLogStreamsRequest>()?.validate()?;
                let group = store.require_group(id, &cmd.group).await?;
                // Bound to the group incarnation too: a token outlives neither its group nor its query.
                let scope = format!(
                    "DescribeLogStreams|{}|{}|{}|{:?}|{}|{}",
                    id.account_id,
                    id.region,
                    group.id,
                    cmd.order,
                    cmd.descending,
                    cmd.prefix.as_deref().unwrap_or("")
                );
                let after: Option<StreamCursor> =
                    cmd.next_token.as_deref().map(|t| self.tokens.open(&scope, t)).transpose()?;
                let (streams, more) = store.list_streams(id, &group, &cmd, after.as_ref()).await?;
                let next = more
                    .then(|| {
                        streams.last().map(|s| {
                            let cursor = StreamCursor {
                                name: s.name.clone(),
                                last_event: (cmd.order == StreamOrder::LastEventTime)
                                    .then_some(s.last_event_timestamp.unwrap_or(0)),
                            };
                            self.tokens.seal(&scope, &cursor)
                        })
                    })
                    .flatten();
                let views: Vec<_> = streams.iter().map(|s| s.view(&id.region, &id.account_id, &group.name)).collect();
                Ok(with_next_token(json!({ "logStreams": views }), next))
            }
            other => Err(logbook_protocol::pipeline::unknown_operation(other.name())),
        }
    }
}
