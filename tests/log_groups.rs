//! Log group actions through the real aws-sdk-cloudwatchlogs client.
// The spec (boto3 1.9.42) has the per-group tag actions and storedBytes that newer SDKs deprecate.
#![allow(deprecated)]

use std::collections::HashMap;

use logbook_tests::{err, logs_client, logs_client_for, new_account, raw_post, sigv4, store};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[tokio::test]
async fn create_describe_delete() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("app/web#1").kms_key_id(KEY).tags("team", "core").send().await.unwrap();
    let out = c.describe_log_groups().log_group_name_prefix("app").send().await.unwrap();
    let groups = out.log_groups();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g.log_group_name(), Some("app/web#1"));
    assert_eq!(g.arn(), Some(format!("arn:aws:logs:us-east-1:{account}:log-group:app/web#1:*").as_str()));
    assert_eq!(g.log_group_arn(), Some(format!("arn:aws:logs:us-east-1:{account}:log-group:app/web#1").as_str()));
    assert_eq!(g.kms_key_id(), Some(KEY));
    assert_eq!(g.retention_in_days(), None);
    assert_eq!(g.metric_filter_count(), Some(0));
    assert_eq!(g.stored_bytes(), Some(0));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((now - g.creation_time().unwrap()).abs() < 60_000);
    assert!(out.next_token().is_none());

    let tags = c.list_tags_log_group().log_group_name("app/web#1").send().await.unwrap();
    assert_eq!(tags.tags().unwrap(), &HashMap::from([("team".to_owned(), "core".to_owned())]));

    let again = c.create_log_group().log_group_name("app/web#1").send().await;
    assert_eq!(err(again), ("ResourceAlreadyExistsException".into(), "The specified log group already exists".into()));

    c.delete_log_group().log_group_name("app/web#1").send().await.unwrap();
    assert!(c.describe_log_groups().send().await.unwrap().log_groups().is_empty());
    let gone = c.delete_log_group().log_group_name("app/web#1").send().await;
    assert_eq!(err(gone), ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));
}

#[tokio::test]
async fn missing_group_is_not_found_for_every_action() {
    let (c, _) = logs_client();
    let g = "nope";
    let not_found = ("ResourceNotFoundException".to_owned(), "The specified log group does not exist.".to_owned());
    assert_eq!(err(c.delete_log_group().log_group_name(g).send().await), not_found);
    assert_eq!(err(c.put_retention_policy().log_group_name(g).retention_in_days(7).send().await), not_found);
    assert_eq!(err(c.delete_retention_policy().log_group_name(g).send().await), not_found);
    assert_eq!(err(c.tag_log_group().log_group_name(g).tags("a", "b").send().await), not_found);
    assert_eq!(err(c.untag_log_group().log_group_name(g).tags("a").send().await), not_found);
    assert_eq!(err(c.list_tags_log_group().log_group_name(g).send().await), not_found);
    assert_eq!(err(c.associate_kms_key().log_group_name(g).kms_key_id(KEY).send().await), not_found);
    assert_eq!(err(c.disassociate_kms_key().log_group_name(g).send().await), not_found);
}

#[tokio::test]
async fn validation_errors_use_aws_wording() {
    let (c, _) = logs_client();
    let pattern = r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+";
    let long = "a".repeat(513);
    let cases: Vec<((String, String), &str, String)> = vec![
        (
            err(c.create_log_group().log_group_name("bad name").send().await),
            "InvalidParameterException",
            format!("1 validation error detected: Value 'bad name' at 'logGroupName' failed to satisfy constraint: {pattern}"),
        ),
        (
            err(c.create_log_group().log_group_name(&long).send().await),
            "InvalidParameterException",
            // AWS's own sentence for an over-long name, not the usual constraint form.
            "Invalid LogGroup or LogStream, both must have length less than or equal to 512.".into(),
        ),
        (
            err(c.describe_log_groups().limit(0).send().await),
            "InvalidParameterException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1".into(),
        ),
        (
            err(c.describe_log_groups().limit(51).send().await),
            "InvalidParameterException",
            "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50".into(),
        ),
        (
            err(c.describe_log_groups().log_group_name_prefix("a*").send().await),
            "InvalidParameterException",
            format!("1 validation error detected: Value 'a*' at 'logGroupNamePrefix' failed to satisfy constraint: {pattern}"),
        ),
        (
            err(c.describe_log_groups().next_token("forged").send().await),
            "InvalidParameterException",
            "The specified nextToken is invalid.".into(),
        ),
        (
            err(c.create_log_group().log_group_name("k").kms_key_id("alias/mine").send().await),
            "InvalidParameterException",
            "Specified KMS key 'alias/mine' is not a valid key ARN. Expected arn:aws:kms:<region>:<account-id>:key/<key-id>.".into(),
        ),
        (
            err(c.create_log_group().log_group_name("t").tags("aws:owner", "me").send().await),
            "InvalidParameterException",
            "Tag keys beginning with 'aws:' are reserved for AWS use: 'aws:owner'.".into(),
        ),
    ];
    for (i, (got, code, message)) in cases.into_iter().enumerate() {
        assert_eq!((got.0.as_str(), got.1.as_str()), (code, message.as_str()), "case {i}");
    }
    // Nothing was created by the failed calls.
    assert!(c.describe_log_groups().send().await.unwrap().log_groups().is_empty());

    let retention = c.put_retention_policy().log_group_name("g").retention_in_days(2).send().await;
    let (code, message) = err(retention);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.starts_with("1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7,"), "{message}");
}

#[tokio::test]
async fn missing_members_are_validation_errors() {
    let account = new_account();
    let auth = sigv4(&account, "logs");
    let cases = [
        (
            "CreateLogGroup",
            "{}",
            "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
        ),
        (
            "PutRetentionPolicy",
            "{}",
            "2 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null; Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null",
        ),
        (
            "TagLogGroup",
            r#"{"logGroupName":"g"}"#,
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        ),
        (
            "AssociateKmsKey",
            r#"{"logGroupName":"g"}"#,
            "1 validation error detected: Value null at 'kmsKeyId' failed to satisfy constraint: Member must not be null",
        ),
    ];
    for (action, body, message) in cases {
        let target = format!("Logs_20140328.{action}");
        let (status, v, _) = raw_post("/", &[("x-amz-target", &target), ("authorization", &auth)], body);
        assert_eq!(status, 400, "{action}");
        assert_eq!(v["__type"], "InvalidParameterException", "{action}");
        assert_eq!(v["message"], message, "{action}");
    }
    // A member of the wrong JSON type is a serialization error, as AWS answers it.
    let (status, v, _) = raw_post(
        "/",
        &[("x-amz-target", "Logs_20140328.DescribeLogGroups"), ("authorization", &auth)],
        r#"{"limit":"ten"}"#,
    );
    assert_eq!((status, v["__type"].as_str()), (400, Some("SerializationException")));
}

#[tokio::test]
async fn pagination_in_ascii_order() {
    let (c, _) = logs_client();
    let mut names: Vec<String> = (0..125).map(|i| format!("pg-{i:03}")).collect();
    // Names that sort differently in ASCII than in a case-insensitive order.
    names.extend(["PG-upper".to_owned(), "pg_under".to_owned(), "pg.dot".to_owned()]);
    let mut set = tokio::task::JoinSet::new();
    for chunk in names.chunks(16) {
        let (c, chunk) = (c.clone(), chunk.to_vec());
        set.spawn(async move {
            for n in chunk {
                c.create_log_group().log_group_name(n).send().await.unwrap();
            }
        });
    }
    set.join_all().await;
    names.sort();

    let mut pages = 0;
    let mut listed = Vec::new();
    let mut paginator = c.describe_log_groups().limit(50).into_paginator().send();
    while let Some(page) = paginator.next().await {
        let page = page.unwrap();
        pages += 1;
        listed.extend(page.log_groups().iter().map(|g| g.log_group_name().unwrap().to_owned()));
    }
    assert_eq!(listed, names);
    assert_eq!(pages, 3, "128 groups at 50 a page");

    // Default page size is 50; a prefix narrows the listing across pages too.
    let first = c.describe_log_groups().send().await.unwrap();
    assert_eq!(first.log_groups().len(), 50);
    let mut prefixed = Vec::new();
    let mut paginator = c.describe_log_groups().log_group_name_prefix("pg-1").limit(7).into_paginator().send();
    while let Some(page) = paginator.next().await {
        prefixed.extend(page.unwrap().log_groups().iter().map(|g| g.log_group_name().unwrap().to_owned()));
    }
    let want: Vec<String> = names.iter().filter(|n| n.starts_with("pg-1")).cloned().collect();
    assert_eq!(prefixed, want);

    // A token only works for the listing that issued it.
    let token = first.next_token().unwrap().to_owned();
    let other_prefix = c.describe_log_groups().log_group_name_prefix("pg").next_token(&token).send().await;
    assert_eq!(err(other_prefix).1, "The specified nextToken is invalid.");
    let (other, _) = logs_client();
    assert_eq!(
        err(other.describe_log_groups().next_token(&token).send().await).1,
        "The specified nextToken is invalid."
    );
    let mut tampered = token.clone();
    tampered.insert(3, 'x');
    assert_eq!(err(c.describe_log_groups().next_token(tampered).send().await).0, "InvalidParameterException");
    let second = c.describe_log_groups().next_token(&token).send().await.unwrap();
    assert_eq!(second.log_groups()[0].log_group_name(), Some(names[50].as_str()));
}

#[tokio::test]
async fn concurrent_creates_have_one_winner() {
    let (c, _) = logs_client();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let c = c.clone();
        set.spawn(async move {
            let r = c.create_log_group().log_group_name("race").send().await;
            if r.is_ok() { Ok(()) } else { Err(err(r).0) }
        });
    }
    let results = set.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().filter_map(|r| r.as_ref().err()).all(|c| c == "ResourceAlreadyExistsException"),
        "{results:?}"
    );
    assert_eq!(c.describe_log_groups().send().await.unwrap().log_groups().len(), 1);
}

#[tokio::test]
async fn retention_tags_and_keys() {
    let (c, _) = logs_client();
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let describe = || async { c.describe_log_groups().send().await.unwrap().log_groups()[0].clone() };

    for days in [1, 3653, 1096, 2192, 2557, 2922, 3288] {
        c.put_retention_policy().log_group_name("g").retention_in_days(days).send().await.unwrap();
        assert_eq!(describe().await.retention_in_days(), Some(days));
    }
    c.delete_retention_policy().log_group_name("g").send().await.unwrap();
    assert_eq!(describe().await.retention_in_days(), None);

    c.tag_log_group().log_group_name("g").tags("a", "1").tags("b", "2").send().await.unwrap();
    c.tag_log_group().log_group_name("g").tags("b", "3").send().await.unwrap();
    c.untag_log_group().log_group_name("g").tags("a").tags("absent").send().await.unwrap();
    let tags = c.list_tags_log_group().log_group_name("g").send().await.unwrap();
    assert_eq!(tags.tags().unwrap(), &HashMap::from([("b".to_owned(), "3".to_owned())]));
    let mut many = c.tag_log_group().log_group_name("g");
    for i in 0..50 {
        many = many.tags(format!("k{i}"), "v");
    }
    let (code, _) = err(many.send().await);
    assert_eq!(code, "InvalidParameterException", "51 tags in all is over the limit");

    c.associate_kms_key().log_group_name("g").kms_key_id(KEY).send().await.unwrap();
    assert_eq!(describe().await.kms_key_id(), Some(KEY));
    let (code, _) = err(c.associate_kms_key().log_group_name("g").kms_key_id("not-an-arn").send().await);
    assert_eq!(code, "InvalidParameterException");
    c.disassociate_kms_key().log_group_name("g").send().await.unwrap();
    assert_eq!(describe().await.kms_key_id(), None);
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let (a, account_a) = logs_client();
    let (b, _) = logs_client();
    let a_west = logs_client_for(&account_a, "eu-west-1");
    a.create_log_group().log_group_name("shared").tags("owner", "a").send().await.unwrap();
    b.create_log_group().log_group_name("shared").send().await.unwrap();
    a_west.create_log_group().log_group_name("shared").send().await.unwrap();

    let b_tags = b.list_tags_log_group().log_group_name("shared").send().await.unwrap();
    assert!(b_tags.tags().unwrap_or(&HashMap::new()).is_empty());
    a.delete_log_group().log_group_name("shared").send().await.unwrap();
    assert_eq!(b.describe_log_groups().send().await.unwrap().log_groups().len(), 1);
    let west = a_west.describe_log_groups().send().await.unwrap();
    assert!(west.log_groups()[0].arn().unwrap().starts_with(&format!("arn:aws:logs:eu-west-1:{account_a}:")));
    assert!(a.describe_log_groups().send().await.unwrap().log_groups().is_empty());

    // A configured key maps to its account.
    let alice = logs_client_for("AKIDALICE", "us-east-1");
    alice.create_log_group().log_group_name("alice-group").send().await.unwrap();
    let g = alice.describe_log_groups().log_group_name_prefix("alice-group").send().await.unwrap();
    assert!(g.log_groups()[0].arn().unwrap().contains(":444455556666:"));
    alice.delete_log_group().log_group_name("alice-group").send().await.unwrap();
}

#[tokio::test]
async fn five_thousand_groups_per_account() {
    let (c, account) = logs_client();
    // Filling 5,000 groups through the API would take minutes; start the account's counter near
    // the limit instead, exactly as 4,998 creates would have left it.
    let id = logbook_protocol::Identity {
        account_id: account.clone(),
        region: "us-east-1".into(),
        access_key_id: None,
        user_name: None,
    };
    let key = logbook_storage::keys::counters(&id);
    let mut item = key.item();
    item.insert("groups".into(), aws_sdk_dynamodb::types::AttributeValue::N("4998".into()));
    store().client().put_item().table_name(store().table()).set_item(Some(item)).send().await.unwrap();

    c.create_log_group().log_group_name("g-4999").send().await.unwrap();
    c.create_log_group().log_group_name("g-5000").send().await.unwrap();
    let (code, _) = err(c.create_log_group().log_group_name("g-5001").send().await);
    assert_eq!(code, "LimitExceededException");
    c.delete_log_group().log_group_name("g-4999").send().await.unwrap();
    c.create_log_group().log_group_name("g-5001").send().await.unwrap();
    // The refused create left nothing behind.
    let names: Vec<_> = c
        .describe_log_groups()
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .map(|g| g.log_group_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["g-5000", "g-5001"]);
}
