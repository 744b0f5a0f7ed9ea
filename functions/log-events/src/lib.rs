//! The log-events action group: PutLogEvents and GetLogEvents over packed event chunks.

use logbook_model::TokenCodec;
use logbook_model::events::{GetLogEventsRequest, MAX_BATCH_BYTES, PutLogEventsRequest};
use logbook_model::logs::{LogGroup, LogStream, STREAM_MISSING};
use logbook_protocol::{Action, ApiError, Call, Dispatch, Group, Identity};
use logbook_storage::events::{Direction, Pos};
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct LogEvents {
    pub store: Store,
    pub tokens: TokenCodec,
}

const DAY: i64 = 86_400_000;

impl LogEvents {
    async fn group_and_stream(
        &self,
        id: &Identity,
        group: &str,
        stream: &str,
    ) -> Result<(LogGroup, LogStream), ApiError> {
        let group = self.store.require_group(id, group).await?;
        let stream =
            self.store.get_stream(id, &group, stream).await?.ok_or_else(|| ApiError::not_found(STREAM_MISSING))?;
        Ok((group, stream))
    }

    /// `f/…` or `b/…`: the direction and a signed position, bound to the stream incarnation.
    fn token(&self, scope: &str, direction: Direction, pos: &Pos) -> String {
        let prefix = if direction == Direction::Forward { "f/" } else { "b/" };
        format!("{prefix}{}", self.tokens.seal(scope, pos))
    }

    fn open_token(&self, scope: &str, token: &str) -> Result<(Direction, Pos), ApiError> {
        let invalid = || ApiError::invalid_parameter("The specified nextToken is invalid.");
        let (direction, rest) = match token.split_at_checked(2) {
            Some(("f/", rest)) => (Direction::Forward, rest),
            Some(("b/", rest)) => (Direction::Backward, rest),
            _ => return Err(invalid()),
        };
        Ok((direction, self.tokens.open(scope, rest).map_err(|_| invalid())?))
    }
}

impl Dispatch for LogEvents {
    fn group(&self) -> Group {
        Group::LogEvents
    }

    async fn dispatch(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        match call.action {
            Action::PutLogEvents => {
                let cmd = call.decode::<PutLogEventsRequest>()?.validate()?;
                let (group, stream) = self.group_and_stream(id, &cmd.group, &cmd.stream).await?;
                let now = now_millis();
                let (events, rejected) = cmd.accept(now, group.retention_in_days)?;
                // AWS ignores sequence tokens; it still hands one out.
                let token = format!("{:056}", u128::from(ulid::Ulid::new()) % 10u128.pow(38));
                if !events.is_empty() {
                    self.store.put_events(id, &group, &stream, &events, now, &token).await?;
                }
                let mut body = json!({ "nextSequenceToken": token });
                if !rejected.is_empty() {
                    body["rejectedLogEventsInfo"] = serde_json::to_value(&rejected).map_err(ApiError::internal)?;
                }
                Ok(body)
            }
            Action::GetLogEvents => {
                let cmd = call.decode::<GetLogEventsRequest>()?.validate()?;
                let (group, stream) = self.group_and_stream(id, &cmd.group, &cmd.stream).await?;
                let now = now_millis();
                let scope = format!("GetLogEvents|{}|{}|{}", id.account_id, id.region, stream.id);
                let (direction, from) = match &cmd.next_token {
                    Some(t) => self.open_token(&scope, t)?,
                    None if cmd.start_from_head => (Direction::Forward, Pos::start()),
                    None => (Direction::Backward, Pos::end()),
                };
                // Events past the group's retention are hidden even before DynamoDB deletes them.
                let floor = group.retention_in_days.map_or(0, |d| now - d * DAY);
                let lo = cmd.start.unwrap_or(0).max(floor);
                let hi = cmd.end.unwrap_or(i64::MAX);
                let events = self
                    .store
                    .read_events(id, &stream, lo, hi, &from, direction, cmd.limit, MAX_BATCH_BYTES, now)
                    .await?;
                let (forward, backward) = match (events.first(), events.last()) {
                    (Some(first), Some(last)) => (
                        self.token(&scope, Direction::Forward, &last.pos),
                        self.token(&scope, Direction::Backward, &first.pos),
                    ),
                    // Nothing further: the token sent comes back unchanged (SDK paginators stop
                    // on it); the other direction continues from the same position.
                    _ => match (&cmd.next_token, direction) {
                        (Some(t), Direction::Forward) => (t.clone(), self.token(&scope, Direction::Backward, &from)),
                        (Some(t), Direction::Backward) => (self.token(&scope, Direction::Forward, &from), t.clone()),
                        (None, _) => (
                            self.token(&scope, Direction::Forward, &Pos::start()),
                            self.token(&scope, Direction::Backward, &Pos::end()),
                        ),
                    },
                };
                let events: Vec<Value> = events
                    .iter()
                    .map(|e| json!({ "timestamp": e.pos.ts, "message": e.message, "ingestionTime": e.ingestion_time }))
                    .collect();
                Ok(json!({ "events": events, "nextForwardToken": forward, "nextBackwardToken": backward }))
            }
            other => Err(logbook_protocol::pipeline::unknown_operation(other.name())),
        }
    }
}
