//! The trails action group: CreateTrail, UpdateTrail, DeleteTrail, DescribeTrails,
//! GetTrailStatus, StartLogging, StopLogging.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use logbook_model::cloudtrail::{DescribeTrailsRequest, NameRequest, Trail, TrailRequest, name_or_arn};
use logbook_protocol::{ApiError, Call, Dispatch, ErrorCode, Identity, ops};
use logbook_storage::trails::trail_not_found;
use logbook_storage::{Store, now_millis};
use serde_json::{Value, json};

pub struct Trails {
    pub store: Store,
    pub s3: aws_sdk_s3::Client,
    pub sns: logbook_delivery::sns::Sns,
}

impl Trails {
    async fn check_bucket(&self, bucket: &str) -> Result<(), ApiError> {
        match self.s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), HeadBucketError::NotFound(_)) || e.raw().status().as_u16() == 404 =>
            {
                Err(ApiError::new(
                    ErrorCode::S3BucketDoesNotExistException,
                    format!("S3 bucket {bucket} does not exist."),
                ))
            }
            // The bucket exists but is not ours to read: CloudTrail could not deliver to it.
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 403 => Err(ApiError::new(
                ErrorCode::InsufficientS3BucketPolicyException,
                format!("Incorrect S3 bucket policy is detected for bucket: {bucket}"),
            )),
            Err(e) => Err(ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    /// A trail's log group must be a Logbook log group of the caller's account, in the trail's
    /// region (CloudTrail delivers there as the caller, through the role).
    async fn check_log_group(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        let Some(arn) = &trail.cloud_watch_logs_log_group_arn else { return Ok(()) };
        let invalid = || {
            ApiError::new(
                ErrorCode::InvalidCloudWatchLogsLogGroupArnException,
                format!("CloudTrail cannot validate the specified log group ARN: {arn}"),
            )
        };
        let (region, account, name) = trail.log_group().ok_or_else(invalid)?;
        if account != id.account_id || region != trail.home_region {
            return Err(invalid());
        }
        match self.store.get_group(&Identity::of(&account, &region), &name).await? {
            Some(_) => Ok(()),
            None => Err(invalid()),
        }
    }

    /// The topic log file notifications go to must exist (and let us read it).
    async fn check_topic(&self, id: &Identity, trail: &Trail) -> Result<(), ApiError> {
        let Some(topic) = trail.topic_arn(&id.account_id) else { return Ok(()) };
        match self.sns.topic_usable(&topic).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::new(
                ErrorCode::InsufficientSnsTopicPolicyException,
                format!("SNS Topic does not exist or the topic policy is incorrect: {topic}"),
            )),
            Err(e) => Err(ApiError::internal(format!("SNS GetTopicAttributes: {e}"))),
        }
    }

    /// The trail a Name (or ARN) refers to: in the caller's region, or a multi-region trail
    /// homed elsewhere (a shadow trail).
    async fn find(&self, id: &Identity, name_or: &str) -> Result<Trail, ApiError> {
        let (region, name) = name_or_arn(name_or)?;
        let region = region.unwrap_or_else(|| id.region.clone());
        if let Some(t) = self.store.get_trail(id, &region, &name).await? {
            return Ok(t);
        }
        let shadow = self.store.list_trails(id).await?.into_iter().find(|t| t.name == name && t.is_multi_region_trail);
        shadow.ok_or_else(|| trail_not_found(id, &region, &name))
    }

    /// A trail the caller may change: only in its home region.
    async fn find_home(&self, id: &Identity, name_or: &str) -> Result<Trail, ApiError> {
        let (region, name) = name_or_arn(name_or)?;
        if region.as_deref().is_some_and(|r| r != id.region) {
            return Err(trail_not_found(id, region.as_deref().unwrap_or(&id.region), &name));
        }
        self.store.require_trail(id, &id.region, &name).await
    }
}

fn required_name(name: Option<String>) -> Result<String, ApiError> {
    name.filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidTrailNameException, "Trail name or ARN can not be empty."))
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl Dispatch for Trails {
    type Op = ops::Trails;

    async fn dispatch(&self, op: ops::Trails, call: &Call) -> Result<Value, ApiError> {
        use ops::Trails as Op;
        match op {
            Op::CreateTrail => self.create_trail(call).await,
            Op::DeleteTrail => self.delete_trail(call).await,
            Op::DescribeTrails => self.describe_trails(call).await,
            Op::GetTrailStatus => self.get_trail_status(call).await,
            Op::StartLogging => self.set_logging(call, true).await,
            Op::StopLogging => self.set_logging(call, false).await,
            Op::UpdateTrail => self.update_trail(call).await,
        }
    }
}

impl Trails {
    async fn create_trail(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let req: TrailRequest = call.decode()?;
        req.validate(true)?;
        let trail = req.into_trail(&id.region);
        // Parameters first, then the bucket they name.
        trail.check_combination()?;
        self.check_bucket(&trail.s3_bucket_name).await?;
        self.check_topic(id, &trail).await?;
        self.check_log_group(id, &trail).await?;
        self.store.create_trail(id, &trail).await?;
        Ok(trail.view(&id.account_id))
    }

    async fn update_trail(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let req: TrailRequest = call.decode()?;
        let name = required_name(req.name.clone())?;
        req.validate(false)?;
        let mut trail = self.find_home(id, &name).await?;
        let new_bucket = req.s3_bucket_name.clone();
        let new_topic = req.sns_topic_name.is_some();
        let new_group = req.cloud_watch_logs_log_group_arn.is_some();
        req.apply_to(&mut trail);
        trail.check_combination()?;
        if let Some(b) = &new_bucket {
            self.check_bucket(b).await?;
        }
        if new_topic {
            self.check_topic(id, &trail).await?;
        }
        if new_group {
            self.check_log_group(id, &trail).await?;
        }
        self.store.put_trail(id, &trail).await?;
        Ok(trail.view(&id.account_id))
    }

    async fn delete_trail(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let name = required_name(call.decode::<NameRequest>()?.name)?;
        let trail = self.find_home(id, &name).await?;
        self.store.delete_trail(id, &trail.name).await?;
        Ok(Value::Null)
    }

    async fn describe_trails(&self, call: &Call) -> Result<Value, ApiError> {
        let id = &call.identity;
        let req: DescribeTrailsRequest = call.decode()?;
        let shadows = req.include_shadow_trails.unwrap_or(true);
        let visible: Vec<Trail> = self
            .store
            .list_trails(id)
            .await?
            .into_iter()
            .filter(|t| t.home_region == id.region || (shadows && t.is_multi_region_trail))
            .collect();
        let chosen: Vec<&Trail> = match &req.trail_name_list {
            None => visible.iter().collect(),
            Some(list) if list.is_empty() => visible.iter().collect(),
            Some(list) => {
                let mut wanted = Vec::new();
                for n in list {
                    let (region, name) = name_or_arn(n)?;
                    wanted.push((region, name));
                }
                visible
                    .iter()
                    .filter(|t| {
                        wanted.iter().any(|(r, n)| *n == t.name && r.as_deref().is_none_or(|r| r == t.home_region))
                    })
                    .collect()
            }
        };
        let list: Vec<Value> = chosen.iter().map(|t| t.view(&id.account_id)).collect();
        Ok(json!({ "trailList": list }))
    }

    async fn get_trail_status(&self, call: &Call) -> Result<Value, ApiError> {
        let name = required_name(call.decode::<NameRequest>()?.name)?;
        let t = self.find(&call.identity, &name).await?;
        // AWS always returns these strings, empty when there is nothing to say.
        let mut v = json!({
            "IsLogging": t.is_logging,
            "LatestDeliveryAttemptTime": "",
            "LatestNotificationAttemptTime": "",
            "LatestNotificationAttemptSucceeded": "",
            "LatestDeliveryAttemptSucceeded": "",
            "TimeLoggingStarted": "",
            "TimeLoggingStopped": "",
        });
        if let Some(ms) = t.start_logging_time {
            v["StartLoggingTime"] = json!(secs(ms));
            v["TimeLoggingStarted"] = json!(logbook_audit_time(ms));
        }
        if let Some(ms) = t.stop_logging_time {
            v["StopLoggingTime"] = json!(secs(ms));
            v["TimeLoggingStopped"] = json!(logbook_audit_time(ms));
        }
        let status = self.store.trail_status(&call.identity, &t.home_region, &t.name).await?;
        let times = [
            ("LatestDeliveryTime", status.latest_delivery_time),
            ("LatestNotificationTime", status.latest_notification_time),
            ("LatestCloudWatchLogsDeliveryTime", status.latest_cloud_watch_logs_delivery_time),
        ];
        for (k, ms) in times {
            if let Some(ms) = ms {
                v[k] = json!(secs(ms));
            }
        }
        let errors = [
            ("LatestDeliveryError", &status.latest_delivery_error),
            ("LatestNotificationError", &status.latest_notification_error),
            ("LatestCloudWatchLogsDeliveryError", &status.latest_cloud_watch_logs_delivery_error),
        ];
        for (k, e) in errors {
            if let Some(e) = e {
                v[k] = json!(e);
            }
        }
        // The newer string forms of the attempts.
        if let Some(ms) = status.latest_delivery_attempt_time {
            v["LatestDeliveryAttemptTime"] = json!(logbook_audit_time(ms));
            v["LatestDeliveryAttemptSucceeded"] =
                json!(if status.latest_delivery_error.is_none() { logbook_audit_time(ms) } else { String::new() });
        }
        if let Some(ms) = status.latest_notification_attempt_time {
            v["LatestNotificationAttemptTime"] = json!(logbook_audit_time(ms));
            v["LatestNotificationAttemptSucceeded"] =
                json!(if status.latest_notification_error.is_none() { logbook_audit_time(ms) } else { String::new() });
        }
        Ok(v)
    }

    /// StartLogging (`start`) and StopLogging.
    async fn set_logging(&self, call: &Call, start: bool) -> Result<Value, ApiError> {
        let id = &call.identity;
        let name = required_name(call.decode::<NameRequest>()?.name)?;
        let mut trail = self.find_home(id, &name).await?;
        trail.is_logging = start;
        if start {
            // With the job that delivers its log files from now on.
            trail.start_logging_time = Some(now_millis());
            self.store.start_logging(id, &trail).await?;
        } else {
            trail.stop_logging_time = Some(now_millis());
            self.store.put_trail(id, &trail).await?;
        }
        Ok(Value::Null)
    }
}

/// `2026-11-20T23:01:34Z`, the form of GetTrailStatus's TimeLogging* strings.
fn logbook_audit_time(ms: i64) -> String {
    logbook_audit::iso8601(ms)
}
