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

// ---------------------------------------------------------------------------------------------
// Delivery: log files to S3 (the worker), records to a log group (the fan-out).

mod delivery {
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::Read as _;
    use std::time::{Duration, Instant};

    use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
    use logbook_fanout::{Backoff, Fanout};
    use logbook_maintenance::Worker;
    use logbook_maintenance::trail::TrailDeliverer;
    use logbook_protocol::Identity;
    use logbook_tests::{drain, err, feeder, logs_client_for, new_account, s3, sns, store_for, trail_client_for};
    use serde_json::Value;

    const ROLE: &str = "arn:aws:iam::123456789012:role/CloudTrail_CloudWatchLogs_Role";

    /// The deployed worker's trail deliverer on the maintenance function's (policy-checked)
    /// store, confined to one account's home-region jobs: files at once (no interval), records
    /// as soon as they are stored.
    fn worker(account: &str, file_records: usize) -> Worker {
        Worker {
            store: store_for("maintenance"),
            settle: Duration::ZERO,
            scope: Some(Identity::of(account, "us-east-1")),
            publisher: None,
            exporter: None,
            trails: Some(TrailDeliverer {
                store: store_for("maintenance"),
                s3: s3(),
                sns: sns(),
                interval_ms: 0,
                settle_ms: 0,
                file_records,
                regions: vec!["us-east-1".into(), "eu-west-1".into()],
                data_events: false,
            }),
        }
    }

    /// One worker run; every trail job's turn must succeed (a failed turn would only be logged).
    async fn run(w: &Worker) {
        let deliverer = w.trails.as_ref().unwrap();
        for job in w.store.jobs(w.scope.as_ref()).await.unwrap() {
            deliverer.run(&job, Instant::now() + Duration::from_secs(60)).await.unwrap();
        }
    }

    fn fanout(account: &str) -> Fanout {
        Fanout {
            store: store_for("fanout"),
            targets: logbook_tests::targets(None),
            backoff: Backoff { attempts: 2, first: Duration::from_millis(50), max: Duration::from_millis(100) },
            scope: Some(account.to_owned()),
            data_events: false,
        }
    }

    /// Every log file under `prefix`: key → its records.
    async fn log_files(bucket: &str, prefix: &str) -> BTreeMap<String, Vec<Value>> {
        let mut out = BTreeMap::new();
        let list = s3().list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
        for o in list.contents() {
            let key = o.key().unwrap().to_owned();
            let body = s3().get_object().bucket(bucket).key(&key).send().await.unwrap().body.collect().await.unwrap();
            let mut text = String::new();
            flate2::read::GzDecoder::new(&body.into_bytes()[..]).read_to_string(&mut text).unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap();
            out.insert(key, doc["Records"].as_array().unwrap().clone());
        }
        out
    }

    fn names(records: &[&Value]) -> Vec<String> {
        records.iter().map(|r| r["eventName"].as_str().unwrap().to_owned()).collect()
    }

    /// CloudTrail's key layout and name (`{prefix}/AWSLogs/{account}/CloudTrail/{region}/
    /// {yyyy}/{MM}/{dd}/{account}_CloudTrail_{region}_{yyyyMMddTHHmmZ}_{16 alphanumerics}.json.gz`).
    fn assert_key_shape(key: &str, prefix: &str, account: &str, region: &str) {
        let rest = key
            .strip_prefix(&format!("{prefix}/AWSLogs/{account}/CloudTrail/{region}/"))
            .unwrap_or_else(|| panic!("{key}"));
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        let (y, m, d, file) = (parts[0], parts[1], parts[2], parts[3]);
        let stem = file.strip_suffix(".json.gz").unwrap();
        let head = format!("{account}_CloudTrail_{region}_{y}{m}{d}T");
        let tail = stem.strip_prefix(&head).unwrap_or_else(|| panic!("{key}"));
        let (hhmm, unique) = tail.split_once("Z_").unwrap();
        assert!(hhmm.len() == 4 && hhmm.bytes().all(|b| b.is_ascii_digit()), "{key}");
        assert!(unique.len() == 16 && unique.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    }

    #[tokio::test]
    async fn checks_what_a_trail_names() {
        let account = new_account();
        let c = trail_client_for(&account, "us-east-1");
        let logs = logs_client_for(&account, "us-east-1");
        let bucket = format!("trail-{account}");
        s3().create_bucket().bucket(&bucket).send().await.unwrap();
        let group_arn = format!("arn:aws:logs:us-east-1:{account}:log-group:trail-group:*");
        let create = |group: &str, role: &str| {
            c.create_trail()
                .name("tr1")
                .s3_bucket_name(&bucket)
                .cloud_watch_logs_log_group_arn(group)
                .cloud_watch_logs_role_arn(role)
                .send()
        };
        let missing = err(create(&group_arn, ROLE).await);
        assert_eq!(missing.0, "InvalidCloudWatchLogsLogGroupArnException", "{missing:?}");
        logs.create_log_group().log_group_name("trail-group").send().await.unwrap();
        let bad_role = err(create(&group_arn, "arn:aws:iam::123456789012:user/me").await);
        assert_eq!(bad_role.0, "InvalidCloudWatchLogsRoleArnException");
        let other_account = "arn:aws:logs:us-east-1:999999999999:log-group:trail-group:*";
        assert_eq!(err(create(other_account, ROLE).await).0, "InvalidCloudWatchLogsLogGroupArnException");
        let no_role = err(c
            .create_trail()
            .name("tr1")
            .s3_bucket_name(&bucket)
            .cloud_watch_logs_log_group_arn(&group_arn)
            .send()
            .await);
        assert_eq!(no_role.0, "InvalidCloudWatchLogsRoleArnException");
        let no_topic =
            err(c.create_trail().name("tr1").s3_bucket_name(&bucket).sns_topic_name("no-such-topic").send().await);
        assert_eq!(no_topic.0, "InsufficientSnsTopicPolicyException");
        // Both forms of the group's ARN are taken (with DescribeLogGroups' `:*` and without).
        let created = create(&group_arn, ROLE).await.unwrap();
        assert_eq!(created.cloud_watch_logs_log_group_arn(), Some(group_arn.as_str()));
        let plain = group_arn.trim_end_matches(":*").to_owned();
        c.update_trail()
            .name("tr1")
            .cloud_watch_logs_log_group_arn(&plain)
            .cloud_watch_logs_role_arn(ROLE)
            .send()
            .await
            .unwrap();
        // Empty strings clear both, as in AWS.
        let cleared = c
            .update_trail()
            .name("tr1")
            .cloud_watch_logs_log_group_arn("")
            .cloud_watch_logs_role_arn("")
            .send()
            .await
            .unwrap();
        assert_eq!(cleared.cloud_watch_logs_log_group_arn(), None);
        let status = c.get_trail_status().name("tr1").send().await.unwrap();
        assert!(status.latest_delivery_time().is_none() && status.latest_delivery_error().is_none());
    }

    /// A trail with a bucket, a prefix and a log group, multi-region: management calls made while
    /// it logs land in log files (one per region, CloudTrail's names, each record once) matching
    /// LookupEvents record for record, and in the log group, where JSON filter patterns find
    /// them; data events and calls outside logging do not; a deleted bucket is reported by
    /// GetTrailStatus and the records wait for it; StopLogging stops delivery.
    #[tokio::test]
    async fn delivers_files_and_log_group_events() {
        let account = new_account();
        let c = trail_client_for(&account, "us-east-1");
        let logs = logs_client_for(&account, "us-east-1");
        let logs_eu = logs_client_for(&account, "eu-west-1");
        let bucket = format!("trail-{account}");
        s3().create_bucket().bucket(&bucket).send().await.unwrap();
        let mut feeder = feeder(&account).await;
        let fan = fanout(&account);
        let w = worker(&account, 5_000);

        logs.create_log_group().log_group_name("trail-group").send().await.unwrap();
        let group_arn = format!("arn:aws:logs:us-east-1:{account}:log-group:trail-group:*");
        c.create_trail()
            .name("org")
            .s3_bucket_name(&bucket)
            .s3_key_prefix("audit")
            .is_multi_region_trail(true)
            .cloud_watch_logs_log_group_arn(&group_arn)
            .cloud_watch_logs_role_arn(ROLE)
            .send()
            .await
            .unwrap();
        logs.create_log_group().log_group_name("before-logging").send().await.unwrap();
        run(&w).await;
        drain(&mut feeder, &fan).await;
        assert!(log_files(&bucket, "audit/").await.is_empty(), "not logging until StartLogging");

        c.start_logging().name("org").send().await.unwrap();
        logs.create_log_group().log_group_name("app-a").send().await.unwrap();
        logs.create_log_group().log_group_name("app-b").send().await.unwrap();
        logs.put_retention_policy().log_group_name("app-b").retention_in_days(7).send().await.unwrap();
        logs.create_log_stream().log_group_name("app-b").log_stream_name("s").send().await.unwrap();
        let event =
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(now()).message("hello").build().unwrap();
        logs.put_log_events().log_group_name("app-b").log_stream_name("s").log_events(event).send().await.unwrap();
        logs.delete_log_group().log_group_name("app-a").send().await.unwrap();
        logs_eu.create_log_group().log_group_name("eu-app").send().await.unwrap();
        let failed = logs.delete_log_group().log_group_name("never-there").send().await;
        assert!(failed.is_err());

        drain(&mut feeder, &fan).await;
        run(&w).await;

        let files = log_files(&bucket, "audit/").await;
        let mut by_region: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for (key, records) in &files {
            let region = if key.contains("/CloudTrail/eu-west-1/") { "eu-west-1" } else { "us-east-1" };
            assert_key_shape(key, "audit", &account, region);
            for r in records {
                assert_eq!(r["awsRegion"], region, "{key}");
                by_region.entry(region.to_owned()).or_default().push(r);
            }
        }
        let want_us = [
            "StartLogging",
            "CreateLogGroup",
            "CreateLogGroup",
            "PutRetentionPolicy",
            "CreateLogStream",
            "DeleteLogGroup",
            "DeleteLogGroup",
        ];
        let mut got_us = names(&by_region["us-east-1"]);
        got_us.sort();
        let mut want: Vec<String> = want_us.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        assert_eq!(got_us, want, "management events only (no PutLogEvents), from StartLogging on");
        assert_eq!(names(&by_region["eu-west-1"]), ["CreateLogGroup"]);
        // The failed call is recorded with its error, as CloudTrail records it.
        let failed_record = by_region["us-east-1"].iter().find(|r| r["errorCode"].is_string()).unwrap();
        assert_eq!(failed_record["errorCode"], "ResourceNotFoundException");

        // Record by record, the files hold what LookupEvents shows.
        let all: Vec<&Value> = by_region.values().flatten().copied().collect();
        let ids: BTreeSet<&str> = all.iter().map(|r| r["eventID"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), all.len(), "each record in exactly one file");
        for r in by_region["us-east-1"].iter() {
            let id = r["eventID"].as_str().unwrap();
            let found = c
                .lookup_events()
                .lookup_attributes(
                    LookupAttribute::builder()
                        .attribute_key(LookupAttributeKey::EventId)
                        .attribute_value(id)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            let event: Value = serde_json::from_str(found.events()[0].cloud_trail_event().unwrap()).unwrap();
            assert_eq!(&&event, r, "{id}");
        }

        // The log group: one stream per region, JSON patterns find the calls.
        let streams = logs.describe_log_streams().log_group_name("trail-group").send().await.unwrap();
        let mut stream_names: Vec<&str> = streams.log_streams().iter().filter_map(|s| s.log_stream_name()).collect();
        stream_names.sort();
        assert_eq!(
            stream_names,
            [format!("{account}_CloudTrail_eu-west-1"), format!("{account}_CloudTrail_us-east-1")]
        );
        let deletes = logs
            .filter_log_events()
            .log_group_name("trail-group")
            .filter_pattern(r#"{ $.eventName = "DeleteLogGroup" && $.requestParameters.logGroupName = "app-a" }"#)
            .send()
            .await
            .unwrap();
        assert_eq!(deletes.events().len(), 1);
        let e = &deletes.events()[0];
        assert_eq!(e.log_stream_name(), Some(format!("{account}_CloudTrail_us-east-1").as_str()));
        let message: Value = serde_json::from_str(e.message().unwrap()).unwrap();
        assert!(ids.contains(message["eventID"].as_str().unwrap()));
        // The log event's time is the record's event time.
        assert_eq!(logbook_audit::iso8601(e.timestamp().unwrap()), message["eventTime"].as_str().unwrap());
        let everything = logs.filter_log_events().log_group_name("trail-group").send().await.unwrap();
        assert_eq!(everything.events().len(), ids.len(), "the log group holds the same records, once");

        let status = c.get_trail_status().name("org").send().await.unwrap();
        assert!(status.latest_delivery_time().is_some() && status.latest_delivery_error().is_none());
        assert!(status.latest_cloud_watch_logs_delivery_time().is_some());
        assert!(status.latest_cloud_watch_logs_delivery_error().is_none());

        // The bucket goes: the next file fails, GetTrailStatus says why, the records wait.
        for key in files.keys() {
            s3().delete_object().bucket(&bucket).key(key).send().await.unwrap();
        }
        s3().delete_bucket().bucket(&bucket).send().await.unwrap();
        logs.create_log_group().log_group_name("while-bucket-gone").send().await.unwrap();
        run(&w).await;
        let status = c.get_trail_status().name("org").send().await.unwrap();
        assert_eq!(status.latest_delivery_error(), Some("NoSuchBucket"));
        s3().create_bucket().bucket(&bucket).send().await.unwrap();
        run(&w).await;
        let later = log_files(&bucket, "audit/").await;
        let later_names: Vec<String> =
            later.values().flatten().map(|r| r["eventName"].as_str().unwrap().to_owned()).collect();
        assert!(later_names.contains(&"CreateLogGroup".to_owned()), "{later_names:?}");
        let status = c.get_trail_status().name("org").send().await.unwrap();
        assert!(status.latest_delivery_error().is_none());

        // StopLogging: recorded itself, and nothing after it.
        c.stop_logging().name("org").send().await.unwrap();
        logs.create_log_group().log_group_name("after-stop").send().await.unwrap();
        run(&w).await;
        drain(&mut feeder, &fan).await;
        let all_files = log_files(&bucket, "audit/").await;
        let delivered: Vec<Value> = all_files.values().flatten().cloned().collect();
        assert!(delivered.iter().any(|r| r["eventName"] == "StopLogging"));
        assert!(!delivered.iter().any(|r| r["requestParameters"]["logGroupName"] == "after-stop"));
        assert!(!delivered.iter().any(|r| r["requestParameters"]["logGroupName"] == "before-logging"));
        let in_group =
            logs.filter_log_events().log_group_name("trail-group").filter_pattern("after-stop").send().await.unwrap();
        assert!(in_group.events().is_empty());
        let jobs =
            || async { store_for("maintenance").jobs(Some(&Identity::of(&account, "us-east-1"))).await.unwrap() };
        // A stopped trail's job waits for the StopLogging call's own record, then ends; a deleted
        // trail's ends at once.
        assert_eq!(jobs().await.len(), 1);
        c.delete_trail().name("org").send().await.unwrap();
        run(&w).await;
        assert!(jobs().await.is_empty());
    }

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
    }

    /// Workers killed at random points (mid-read, mid-put, between claim and progress) never put
    /// a record in two files, nor lose one: a window claimed and not finished is written again
    /// to the same key.
    #[tokio::test]
    async fn killed_workers_deliver_each_record_once() {
        let account = new_account();
        let c = trail_client_for(&account, "us-east-1");
        let logs = logs_client_for(&account, "us-east-1");
        let bucket = format!("trail-{account}");
        s3().create_bucket().bucket(&bucket).send().await.unwrap();
        c.create_trail().name("tr1").s3_bucket_name(&bucket).send().await.unwrap();
        c.start_logging().name("tr1").send().await.unwrap();
        let w = worker(&account, 7);
        let mut made = 1; // StartLogging
        for round in 0..6 {
            for i in 0..8 {
                logs.create_log_group().log_group_name(format!("g-{round}-{i}")).send().await.unwrap();
                made += 1;
            }
            for _ in 0..3 {
                let cut = Duration::from_millis(fastrand::u64(1..60));
                let _ = tokio::time::timeout(cut, w.run(Instant::now() + Duration::from_secs(60), usize::MAX)).await;
            }
        }
        run(&w).await;
        let files = log_files(&bucket, "AWSLogs/").await;
        let all: Vec<&Value> = files.values().flatten().collect();
        let ids: BTreeSet<&str> = all.iter().map(|r| r["eventID"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), all.len(), "a record in two files");
        assert_eq!(all.len(), made, "every record delivered");
        assert!(files.values().all(|r| r.len() <= 7), "files of at most 7 records");
    }
}
