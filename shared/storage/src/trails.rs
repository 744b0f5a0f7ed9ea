//! Trail items: created and deleted in a transaction with the account's trail counter, so the
//! five-trail limit holds under concurrency.

use logbook_model::cloudtrail::{MAX_TRAILS_PER_REGION, Trail, trail_arn};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::keys::{self, Kind, attr};
use crate::table::{Created, Expr, Query, Txn, Write, from_item, to_item};
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

    pub async fn delete_trail(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        let t = self.db();
        let items = vec![
            t.txn_delete(&keys::trail(id, &id.region, name), Some(Expr::present()))?,
            t.txn_decrement(&keys::counters(id), attr::TRAILS, None)?,
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
