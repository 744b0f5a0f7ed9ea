//! Trail items: created and deleted in a transaction with the account's trail counter, so the
//! five-trail limit holds under concurrency.

use aws_sdk_dynamodb::types::AttributeValue;
use logbook_model::cloudtrail::{MAX_TRAILS_PER_REGION, Trail, TrailStatus, trail_arn};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::keys::{self, Kind, attr};
use crate::table::{Created, Expr, Query, Txn, Write, from_item, n, s, to_item};
use crate::work::JobKind;
use crate::{Item, Store};

pub fn trail_not_found(id: &Identity, region: &str, name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TrailNotFoundException,
        format!("Unknown trail: {} for the user: {}", trail_arn(region, &id.account_id, name), id.account_id),
    )
}

fn trail_item(id: &Identity, trail: &Trail) -> Result<Item, ApiError> {
    let mut item = to_item(trail)?;
    item.extend(keys::trail(id, &trail.home_region, &trail.name).item());
    item.extend([Kind::Trail.attribute()]);
    Ok(item)
}

impl Store {
    pub async fn create_trail(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        let item = trail_item(id, trail)?;
        match self.db().create_counted(item, &keys::counters(id), attr::TRAILS, MAX_TRAILS_PER_REGION).await? {
            Created::New => Ok(()),
            Created::Exists => Err(ApiError::new(
                ErrorCode::TrailAlreadyExistsException,
                format!("Trail {} already exists for customer: {}", trail.name, id.account_id),
            )),
            Created::AtLimit => Err(ApiError::new(
                ErrorCode::MaximumNumberOfTrailsExceededException,
                format!("User: {} already has {MAX_TRAILS_PER_REGION} trails in {}.", id.account_id, id.region),
            )),
        }
    }

    pub async fn get_trail(&self, id: &Identity, region: &str, name: &str) -> Result<Option<Trail>, ApiError> {
        self.db().get(&keys::trail(id, region, name)).await
    }

    pub async fn require_trail(&self, id: &Identity, region: &str, name: &str) -> Result<Trail, ApiError> {
        self.get_trail(id, region, name).await?.ok_or_else(|| trail_not_found(id, region, name))
    }

    /// Replaces an existing trail (UpdateTrail, Start/StopLogging).
    pub async fn put_trail(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        match self.db().put(trail_item(id, trail)?, Some(Expr::present())).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(trail_not_found(id, &trail.home_region, &trail.name)),
        }
    }

    /// StartLogging: the trail, and the job that delivers its log files, in one transaction.
    pub async fn start_logging(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_put(trail_item(id, trail)?, Some(Expr::present()))?,
            self.job_put(id, JobKind::Trail, &trail.name, None)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => Err(trail_not_found(id, &trail.home_region, &trail.name)),
        }
    }

    /// Removes the trail with its delivery status (its delivery job ends when it finds the trail
    /// gone).
    pub async fn delete_trail(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_delete(&keys::trail(id, &id.region, name), Some(Expr::present()))?,
            t.txn_decrement(&keys::counters(id), attr::TRAILS, None)?,
            t.txn_delete(&keys::trail_status(id, &id.region, name), None)?,
        ];
        match t.transact(items).await? {
            Txn::Committed => Ok(()),
            Txn::ConditionFailed(_) => Err(trail_not_found(id, &id.region, name)),
        }
    }

    /// Every trail of the account, in every region.
    pub async fn list_trails(&self, id: &Identity) -> Result<Vec<Trail>, ApiError> {
        let items = self.db().all(Query::new(keys::trails(id)), usize::MAX).await?;
        items.into_iter().map(from_item).collect()
    }
}

/// A change to a trail's delivery status: members set (`Some`) or removed (`None`).
pub type StatusChange<'a> = Vec<(&'static str, Option<AttributeValue>)>;

/// A time member of [`TrailStatus`] as it is stored.
pub fn millis(ms: i64) -> Option<AttributeValue> {
    Some(n(ms))
}

/// A text member of [`TrailStatus`] as it is stored.
pub fn text(v: &str) -> Option<AttributeValue> {
    Some(s(v))
}

impl Store {
    /// What the trail's deliveries did (all empty before the first).
    pub async fn trail_status(&self, id: &Identity, region: &str, name: &str) -> Result<TrailStatus, ApiError> {
        Ok(self.db().get(&keys::trail_status(id, region, name)).await?.unwrap_or_default())
    }

    /// Sets and removes single members of a trail's status, under `condition` when given. False
    /// when the condition failed.
    pub async fn change_trail_status(
        &self,
        id: &Identity,
        region: &str,
        name: &str,
        change: StatusChange<'_>,
        condition: Option<Expr>,
    ) -> Result<bool, ApiError> {
        let mut sets = vec!["#type = :type".to_owned()];
        let mut removes = Vec::new();
        let mut expr = Expr::default().name("#type", attr::TYPE).value(":type", s(Kind::TrailStatus.as_str()));
        for (i, (member, value)) in change.into_iter().enumerate() {
            expr = expr.name(format!("#m{i}"), member);
            match value {
                Some(v) => {
                    sets.push(format!("#m{i} = :m{i}"));
                    expr = expr.value(format!(":m{i}"), v);
                }
                None => removes.push(format!("#m{i}")),
            }
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let mut expr = expr.merge(Expr::update(update));
        if let Some(c) = condition {
            expr = expr.merge(c);
        }
        Ok(self.db().update(&keys::trail_status(id, region, name), expr).await? == Write::Done)
    }
}

/// The condition that a status member still holds what was read (`None`: absent).
/// (Placeholders are named after the member, so conditions on two members merge.)
pub fn status_member_is(member: &'static str, value: Option<&str>) -> Expr {
    let (name, val) = (format!("#c_{member}"), format!(":c_{member}"));
    match value {
        Some(v) => Expr::when(format!("{name} = {val}")).name(name, member).value(val, s(v)),
        None => Expr::when(format!("attribute_not_exists({name})")).name(name, member),
    }
}
