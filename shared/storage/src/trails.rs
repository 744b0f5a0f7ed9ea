//! Trail items: created and deleted in a transaction with the region's trail counter, so the
//! five-trail limit holds under concurrency.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use logbook_model::cloudtrail::{MAX_TRAILS_PER_REGION, Trail, trail_arn};
use logbook_protocol::{ApiError, ErrorCode, Identity};

use crate::{Store, condition_failed, from_item, internal, keys, s, to_item};

pub fn trail_not_found(id: &Identity, region: &str, name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TrailNotFoundException,
        format!("Unknown trail: {} for the user: {}", trail_arn(region, &id.account_id, name), id.account_id),
    )
}

impl Store {
    pub async fn create_trail(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        let mut item = to_item(trail)?;
        item.extend(keys::trail(id, &trail.home_region, &trail.name).item());
        item.insert("type".into(), s("trail"));
        match self.create_counted(item, keys::counters(id), "trails", MAX_TRAILS_PER_REGION).await? {
            None => Ok(()),
            Some(0) => Err(ApiError::new(
                ErrorCode::TrailAlreadyExistsException,
                format!("Trail {} already exists for customer: {}", trail.name, id.account_id),
            )),
            Some(_) => Err(ApiError::new(
                ErrorCode::MaximumNumberOfTrailsExceededException,
                format!("User: {} already has {MAX_TRAILS_PER_REGION} trails in {}.", id.account_id, id.region),
            )),
        }
    }

    pub async fn get_trail(&self, id: &Identity, region: &str, name: &str) -> Result<Option<Trail>, ApiError> {
        self.get(keys::trail(id, region, name)).await
    }

    pub async fn require_trail(&self, id: &Identity, region: &str, name: &str) -> Result<Trail, ApiError> {
        self.get_trail(id, region, name).await?.ok_or_else(|| trail_not_found(id, region, name))
    }

    /// Replaces an existing trail (UpdateTrail, Start/StopLogging).
    pub async fn put_trail(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        let mut item = to_item(trail)?;
        item.extend(keys::trail(id, &trail.home_region, &trail.name).item());
        item.insert("type".into(), s("trail"));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(trail_not_found(id, &trail.home_region, &trail.name)),
            Err(e) => Err(internal(e)),
        }
    }

    pub async fn delete_trail(&self, id: &Identity, name: &str) -> Result<(), ApiError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(keys::trail(id, &id.region, name).item()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(internal)?;
        let items =
            [TransactWriteItem::builder().delete(delete).build(), self.decrement(keys::counters(id), "trails", None)?];
        self.transact(&items, |_| trail_not_found(id, &id.region, name)).await
    }

    /// Every trail of the account, in every region.
    pub async fn list_trails(&self, id: &Identity) -> Result<Vec<Trail>, ApiError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::trails(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(internal)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}
