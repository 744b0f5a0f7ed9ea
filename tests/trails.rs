//! Trail actions through the real aws-sdk-cloudtrail client, with the bucket check against a
//! local S3-compatible server.

use logbook_tests::{err, new_account, s3, trail_client_for};

async fn bucket(name: &str) {
    let _ = s3().create_bucket().bucket(name).send().await;
}

#[tokio::test]
async fn lifecycle() {
    let account = new_account();
    let c = trail_client_for(&account, "us-east-1");
    bucket("logbook-trail-bucket").await;
    let created = c
        .create_trail()
        .name("main-trail")
        .s3_bucket_name("logbook-trail-bucket")
        .s3_key_prefix("audit")
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:cloudtrail:us-east-1:{account}:trail/main-trail");
    assert_eq!(created.trail_arn(), Some(arn.as_str()));
    assert_eq!(created.name(), Some("main-trail"));
    assert_eq!(created.s3_key_prefix(), Some("audit"));
    assert_eq!(created.include_global_service_events(), Some(true));

    let again = c.create_trail().name("main-trail").s3_bucket_name("logbook-trail-bucket").send().await;
    assert_eq!(err(again).0, "TrailAlreadyExistsException");

    let status = c.get_trail_status().name("main-trail").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(false));
    assert!(status.start_logging_time().is_none());
    c.start_logging().name(&arn).send().await.unwrap();
    let status = c.get_trail_status().name("main-trail").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(true));
    let started = status.start_logging_time().unwrap().secs();
    assert!(
        (started - std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64).abs()
            < 60
    );
    c.stop_logging().name("main-trail").send().await.unwrap();
    let status = c.get_trail_status().name("main-trail").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(false));
    assert!(status.stop_logging_time().is_some() && status.start_logging_time().is_some());

    let updated = c
        .update_trail()
        .name("main-trail")
        .s3_key_prefix("")
        .include_global_service_events(false)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.s3_key_prefix(), None);
    assert_eq!(updated.include_global_service_events(), Some(false));

    let described = c.describe_trails().trail_name_list("main-trail").send().await.unwrap();
    assert_eq!(described.trail_list().len(), 1);
    assert_eq!(described.trail_list()[0].home_region(), Some("us-east-1"));
    let by_arn = c.describe_trails().trail_name_list(&arn).send().await.unwrap();
    assert_eq!(by_arn.trail_list()[0].name(), Some("main-trail"));
    assert!(c.describe_trails().trail_name_list("other-trail").send().await.unwrap().trail_list().is_empty());

    c.delete_trail().name("main-trail").send().await.unwrap();
    assert!(c.describe_trails().send().await.unwrap().trail_list().is_empty());
    for r in [
        err(c.delete_trail().name("main-trail").send().await),
        err(c.get_trail_status().name("main-trail").send().await),
        err(c.start_logging().name("main-trail").send().await),
        err(c.stop_logging().name("main-trail").send().await),
        err(c.update_trail().name("main-trail").send().await),
    ] {
        assert_eq!(r.0, "TrailNotFoundException", "{r:?}");
        assert_eq!(r.1, format!("Unknown trail: {arn} for the user: {account}"));
    }
}

#[tokio::test]
async fn names_buckets_and_limits() {
    let account = new_account();
    let c = trail_client_for(&account, "us-east-1");
    bucket("logbook-limits").await;
    let long = "a".repeat(129);
    for name in ["ab", long.as_str(), "my trail", "-abc", "abc-", "my-_trail", "my--trail", "192.168.5.4"] {
        let r = c.create_trail().name(name).s3_bucket_name("logbook-limits").send().await;
        assert_eq!(err(r).0, "InvalidTrailNameException", "{name}");
    }
    let missing = c.create_trail().name("no-bucket").s3_bucket_name("logbook-no-such-bucket").send().await;
    assert_eq!(
        err(missing),
        ("S3BucketDoesNotExistException".into(), "S3 bucket logbook-no-such-bucket does not exist.".into())
    );
    let bad_bucket = c.create_trail().name("bad-bucket").s3_bucket_name("Bad_Bucket").send().await;
    assert_eq!(err(bad_bucket).0, "InvalidS3BucketNameException");
    let bad_arn = c.get_trail_status().name("arn:aws:s3:::x").send().await;
    assert_eq!(err(bad_arn).0, "CloudTrailARNInvalidException");

    for i in 0..5 {
        c.create_trail().name(format!("trail-{i}")).s3_bucket_name("logbook-limits").send().await.unwrap();
    }
    let sixth = c.create_trail().name("trail-5").s3_bucket_name("logbook-limits").send().await;
    assert_eq!(err(sixth).0, "MaximumNumberOfTrailsExceededException");
    // The limit is per region.
    let west = trail_client_for(&account, "eu-west-1");
    west.create_trail().name("trail-5").s3_bucket_name("logbook-limits").send().await.unwrap();
    c.delete_trail().name("trail-0").send().await.unwrap();
    c.create_trail().name("trail-5").s3_bucket_name("logbook-limits").send().await.unwrap();
    assert_eq!(c.describe_trails().include_shadow_trails(false).send().await.unwrap().trail_list().len(), 5);
}

#[tokio::test]
async fn shadow_trails_and_isolation() {
    let account = new_account();
    bucket("logbook-shadow").await;
    let east = trail_client_for(&account, "us-east-1");
    let west = trail_client_for(&account, "eu-west-1");
    east.create_trail()
        .name("everywhere")
        .s3_bucket_name("logbook-shadow")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    east.create_trail().name("east-only").s3_bucket_name("logbook-shadow").send().await.unwrap();

    let names =
        |l: &[aws_sdk_cloudtrail::types::Trail]| l.iter().map(|t| t.name().unwrap().to_owned()).collect::<Vec<_>>();
    let shown = west.describe_trails().send().await.unwrap();
    assert_eq!(names(shown.trail_list()), ["everywhere"]);
    assert_eq!(shown.trail_list()[0].home_region(), Some("us-east-1"));
    assert!(west.describe_trails().include_shadow_trails(false).send().await.unwrap().trail_list().is_empty());
    assert_eq!(west.get_trail_status().name("everywhere").send().await.unwrap().is_logging(), Some(false));
    // A shadow trail is changed only in its home region.
    assert_eq!(err(west.delete_trail().name("everywhere").send().await).0, "TrailNotFoundException");

    let other = trail_client_for(&new_account(), "us-east-1");
    assert!(other.describe_trails().send().await.unwrap().trail_list().is_empty());
    assert_eq!(err(other.get_trail_status().name("east-only").send().await).0, "TrailNotFoundException");
}
