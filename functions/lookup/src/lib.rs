//! The lookup action group: LookupEvents over the audit records the pipeline writes.

use logbook_audit::AuditRecord;
use logbook_model::TokenCodec;
use logbook_model::cloudtrail::LookupEventsRequest;
use logbook_protocol::{ApiError, Call, Dispatch, ops};
use logbook_storage::audit::AuditCursor;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct Lookup {
    pub store: Store,
    pub tokens: TokenCodec,
}

/// A LookupEvents token: the window of the first page (so "the last 90 days" does not move under
/// a paging client) and the last record returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct Page {
    start: i64,
    end: i64,
    after: AuditCursor,
}

impl logbook_model::token::Cursor for Page {
    fn in_range(&self) -> bool {
        self.start <= self.end && self.after.in_range()
    }
}

fn event(r: &AuditRecord) -> Value {
    let resources: Vec<Value> =
        r.resources.iter().map(|x| json!({ "ResourceType": x.resource_type, "ResourceName": x.name })).collect();
    let mut v = json!({
        "EventId": r.event_id,
        "EventName": r.event_name,
        "ReadOnly": r.read_only.to_string(),
        // Whole seconds, as CloudTrail reports event times.
        "EventTime": r.event_time.div_euclid(1000),
        "EventSource": r.event_source,
        "Resources": resources,
        "CloudTrailEvent": r.cloudtrail_event,
    });
    if let Some(k) = &r.access_key_id {
        v["AccessKeyId"] = json!(k);
    }
    if let Some(u) = &r.username {
        v["Username"] = json!(u);
    }
    v
}

impl Dispatch for Lookup {
    type Op = ops::Lookup;

    async fn dispatch(&self, op: ops::Lookup, call: &Call) -> Result<Value, ApiError> {
        match op {
            ops::Lookup::LookupEvents => self.lookup_events(call).await,
        }
    }
}

impl Lookup {
    async fn lookup_events(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let cmd = call.decode::<LookupEventsRequest>()?.validate(now_millis())?;
        let pager = self.tokens.pager(call.action, id, &cmd.fingerprint);
        let page: Option<Page> = pager.start(cmd.next_token.as_deref())?;
        let (start, end) = page.as_ref().map_or((cmd.start, cmd.end), |p| (p.start, p.end));
        let attribute = cmd.attribute.as_ref().map(|(k, v)| (*k, v.as_str()));
        let (records, more) = self
            .store
            .lookup_events(id, attribute, start, end, page.as_ref().map(|p| &p.after), cmd.max_results)
            .await?;
        let next = pager.next(
            more,
            records.last().map(|r| Page {
                start,
                end,
                after: AuditCursor { time: r.event_time, event_id: r.event_id.clone() },
            }),
        );
        let events: Vec<Value> = records.iter().map(event).collect();
        let mut body = json!({ "Events": events });
        if let Some(t) = next {
            body["NextToken"] = json!(t); // CloudTrail's spelling
        }
        Ok(body)
    }
}
