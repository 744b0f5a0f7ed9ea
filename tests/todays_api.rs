//! Today's API on the resources Logbook serves, through the current aws-sdk-cloudwatchlogs (it
//! sends these members): `logGroupIdentifier`, `logGroupNamePattern`, ListLogGroups, tagging by
//! ARN, log group classes and deletion protection.
// TagLogGroup / ListTagsLogGroup are deprecated in the SDK; they must keep working alongside.
#![allow(deprecated)]

use logbook_tests::logs::types::{InputLogEvent, LogGroupClass, MetricTransformation};
use logbook_tests::{err, logs, logs_client, logs_client_for};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn arn(account: &str, group: &str) -> String {
    format!("arn:aws:logs:us-east-1:{account}:log-group:{group}")
}

async fn group_with_events(c: &logs::Client, group: &str) {
    c.create_log_group().log_group_name(group).send().await.unwrap();
    c.create_log_stream().log_group_name(group).log_stream_name("s").send().await.unwrap();
    let events: Vec<InputLogEvent> = (0..3)
        .map(|i| InputLogEvent::builder().timestamp(now_ms() - 1000 + i).message(format!("line {i}")).build().unwrap())
        .collect();
    c.put_log_events().log_group_name(group).log_stream_name("s").set_log_events(Some(events)).send().await.unwrap();
}

#[tokio::test]
async fn log_group_identifier_names_a_group_by_name_or_arn() {
    let (c, account) = logs_client();
    group_with_events(&c, "/app/web").await;
    for identifier in ["/app/web".to_owned(), arn(&account, "/app/web")] {
        let got = c.get_log_events().log_group_identifier(&identifier).log_stream_name("s").start_from_head(true);
        let got = got.send().await.unwrap();
        let messages: Vec<&str> = got.events().iter().filter_map(|e| e.message()).collect();
        assert_eq!(messages, ["line 0", "line 1", "line 2"], "GetLogEvents by {identifier}");
        let found = c.filter_log_events().log_group_identifier(&identifier).filter_pattern("\"line 1\"");
        let found = found.send().await.unwrap();
        assert_eq!(found.events().len(), 1, "FilterLogEvents by {identifier}");
        let streams = c.describe_log_streams().log_group_identifier(&identifier).send().await.unwrap();
        assert_eq!(streams.log_streams()[0].log_stream_name(), Some("s"), "DescribeLogStreams by {identifier}");
    }

    // Both members: AWS's ValidationException, on each action that takes them.
    let both = err(c
        .get_log_events()
        .log_group_name("/app/web")
        .log_group_identifier("/app/web")
        .log_stream_name("s")
        .send()
        .await);
    assert_eq!(
        both,
        ("ValidationException".into(), "LogGroup name and LogGroup ARN are mutually exclusive parameters.".into())
    );
    let both = err(c
        .filter_log_events()
        .log_group_name("/app/web")
        .log_group_identifier(arn(&account, "/app/web"))
        .send()
        .await);
    assert_eq!(both.0, "ValidationException");
    let both = err(c.describe_log_streams().log_group_name("/app/web").log_group_identifier("/app/web").send().await);
    assert_eq!(both.0, "ValidationException");

    // Another account's group, another region's, AWS's `:*` form, a missing group, neither member.
    let other_account =
        err(c.describe_log_streams().log_group_identifier(arn("210987654321", "/app/web")).send().await);
    assert_eq!(other_account.0, "AccessDeniedException", "{other_account:?}");
    let other_region = "arn:aws:logs:eu-west-1:".to_owned() + &account + ":log-group:/app/web";
    let other_region = err(c.describe_log_streams().log_group_identifier(other_region).send().await);
    assert_eq!(other_region.0, "ResourceNotFoundException");
    let wildcard = err(c.describe_log_streams().log_group_identifier(arn(&account, "/app/web") + ":*").send().await);
    assert_eq!(wildcard.0, "InvalidParameterException");
    let missing = err(c.describe_log_streams().log_group_identifier(arn(&account, "/nope")).send().await);
    assert_eq!(missing, ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));
    let neither = err(c.get_log_events().log_stream_name("s").send().await);
    assert_eq!(neither.0, "InvalidParameterException");
}

#[tokio::test]
async fn describe_log_groups_by_pattern_and_list_log_groups() {
    let (c, account) = logs_client();
    for g in ["/aws/lambda/Foo", "FooBar", "aws/Foo", "foo", "F/o/o", "GroupFoo", "zeta"] {
        c.create_log_group().log_group_name(g).send().await.unwrap();
    }
    // AWS's own example: Foo matches FooBar, aws/Foo and GroupFoo, not foo, F/o/o or Froo.
    let out = c.describe_log_groups().log_group_name_pattern("Foo").send().await.unwrap();
    let names: Vec<&str> = out.log_groups().iter().filter_map(|g| g.log_group_name()).collect();
    assert_eq!(names, ["/aws/lambda/Foo", "FooBar", "GroupFoo", "aws/Foo"]);
    let g = &out.log_groups()[0];
    assert_eq!(g.arn(), Some(format!("{}:*", arn(&account, "/aws/lambda/Foo")).as_str()));
    assert!(g.creation_time().is_some());
    assert_eq!(
        (g.log_group_class(), g.log_group_arn(), g.retention_in_days()),
        (None, None, None),
        "only three fields"
    );
    // A pattern that matches few still fills its page, and the token goes on after it.
    let first = c.describe_log_groups().log_group_name_pattern("Foo").limit(3).send().await.unwrap();
    assert_eq!(first.log_groups().len(), 3);
    let rest = c
        .describe_log_groups()
        .log_group_name_pattern("Foo")
        .limit(3)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.log_groups().iter().filter_map(|g| g.log_group_name()).collect::<Vec<_>>(), ["aws/Foo"]);
    assert!(rest.next_token().is_none());
    let both = err(c.describe_log_groups().log_group_name_prefix("a").log_group_name_pattern("Foo").send().await);
    assert_eq!(
        both,
        (
            "InvalidParameterException".into(),
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.".into()
        )
    );

    // ListLogGroups: `^` anchors, `|` alternates, `.` is any character; summaries; its own paging.
    let list = c.list_log_groups().log_group_name_pattern("^/aws/lambda|Bar").send().await.unwrap();
    let names: Vec<&str> = list.log_groups().iter().filter_map(|g| g.log_group_name()).collect();
    assert_eq!(names, ["/aws/lambda/Foo", "FooBar"]);
    let s = &list.log_groups()[0];
    assert_eq!(s.log_group_arn(), Some(arn(&account, "/aws/lambda/Foo").as_str()));
    assert_eq!(s.log_group_class(), Some(&LogGroupClass::Standard));
    let dotted = c.list_log_groups().log_group_name_pattern("^F.o").send().await.unwrap();
    assert_eq!(dotted.log_groups().iter().filter_map(|g| g.log_group_name()).collect::<Vec<_>>(), ["F/o/o", "FooBar"]);
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = c.list_log_groups().limit(2).set_next_token(token).send().await.unwrap();
        assert!(page.log_groups().len() <= 2);
        all.extend(page.log_groups().iter().filter_map(|g| g.log_group_name().map(str::to_owned)));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all, ["/aws/lambda/Foo", "F/o/o", "FooBar", "GroupFoo", "aws/Foo", "foo", "zeta"]);
    let short = err(c.list_log_groups().log_group_name_pattern("ab").send().await);
    assert_eq!(short.0, "InvalidParameterException");
    let many = err(c.list_log_groups().limit(1001).send().await);
    assert_eq!(many.0, "InvalidParameterException");
}

#[tokio::test]
async fn tags_by_arn_are_the_log_groups_tags() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("g").tags("team", "core").send().await.unwrap();
    let group = arn(&account, "g");
    c.tag_resource().resource_arn(&group).tags("env", "prod").send().await.unwrap();
    let legacy = c.list_tags_log_group().log_group_name("g").send().await.unwrap();
    let mut tags: Vec<(String, String)> = legacy.tags().unwrap().clone().into_iter().collect();
    tags.sort();
    assert_eq!(tags, [("env".to_owned(), "prod".to_owned()), ("team".to_owned(), "core".to_owned())]);
    c.tag_log_group().log_group_name("g").tags("owner", "sam").send().await.unwrap();
    c.untag_resource().resource_arn(&group).tag_keys("team").send().await.unwrap();
    let now = c.list_tags_for_resource().resource_arn(&group).send().await.unwrap();
    let mut keys: Vec<&String> = now.tags().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["env", "owner"]);

    // The limit counts both kinds of call: 50 in all.
    let more: std::collections::HashMap<String, String> = (0..48).map(|i| (format!("k{i}"), "v".into())).collect();
    c.tag_resource().resource_arn(&group).set_tags(Some(more)).send().await.unwrap();
    let over = err(c.tag_resource().resource_arn(&group).tags("one", "more").send().await);
    assert_eq!(over.0, "TooManyTagsException", "{over:?}");
    let over = err(c.tag_log_group().log_group_name("g").tags("one", "more").send().await);
    assert_eq!(over.0, "InvalidParameterException");
    let reserved = err(c.tag_resource().resource_arn(&group).tags("aws:x", "v").send().await);
    assert_eq!(reserved.0, "InvalidParameterException");

    // AWS's `:*` form, a stream ARN, another account's group, a missing group.
    let wildcard = err(c.list_tags_for_resource().resource_arn(format!("{group}:*")).send().await);
    assert_eq!(wildcard.0, "InvalidParameterException");
    let stream = err(c.list_tags_for_resource().resource_arn(format!("{group}:log-stream:s")).send().await);
    assert_eq!(stream.0, "InvalidParameterException");
    let foreign = err(c.list_tags_for_resource().resource_arn(arn("210987654321", "g")).send().await);
    assert_eq!(foreign.0, "AccessDeniedException");
    let missing = err(c.tag_resource().resource_arn(arn(&account, "nope")).tags("k", "v").send().await);
    assert_eq!(missing, ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));

    // Destinations carry tags too.
    let kinesis = aws_sdk_kinesis::Client::new(&logbook_tests::aws_config());
    // Already there from an earlier run: fine.
    let _ = kinesis.create_stream().stream_name("todays-api").shard_count(1).send().await;
    let stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/todays-api";
    let role = "arn:aws:iam::123456789012:role/r";
    let d = c.put_destination().destination_name("d").target_arn(stream_arn).role_arn(role).send().await;
    let d_arn = d.unwrap().destination().unwrap().arn().unwrap().to_owned();
    assert!(c.list_tags_for_resource().resource_arn(&d_arn).send().await.unwrap().tags().unwrap().is_empty());
    c.tag_resource().resource_arn(&d_arn).tags("team", "data").send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&d_arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().get("team").map(String::as_str), Some("data"));
    c.untag_resource().resource_arn(&d_arn).tag_keys("team").send().await.unwrap();
    assert!(c.list_tags_for_resource().resource_arn(&d_arn).send().await.unwrap().tags().unwrap().is_empty());
    let missing = format!("arn:aws:logs:us-east-1:{account}:destination:nope");
    let missing = err(c.list_tags_for_resource().resource_arn(missing).send().await);
    assert_eq!(missing, ("ResourceNotFoundException".into(), "The specified destination does not exist.".into()));
}

#[tokio::test]
async fn classes_and_deletion_protection() {
    let (c, account) = logs_client();
    c.create_log_group().log_group_name("ia").log_group_class(LogGroupClass::InfrequentAccess).send().await.unwrap();
    c.create_log_group().log_group_name("std").deletion_protection_enabled(true).send().await.unwrap();
    let out = c.describe_log_groups().send().await.unwrap();
    let by_name = |n: &str| out.log_groups().iter().find(|g| g.log_group_name() == Some(n)).unwrap().clone();
    assert_eq!(by_name("ia").log_group_class(), Some(&LogGroupClass::InfrequentAccess));
    assert_eq!(by_name("ia").deletion_protection_enabled(), Some(false));
    assert_eq!(by_name("std").log_group_class(), Some(&LogGroupClass::Standard));
    assert_eq!(by_name("std").deletion_protection_enabled(), Some(true));
    let ia_only = c.describe_log_groups().log_group_class(LogGroupClass::InfrequentAccess).send().await.unwrap();
    assert_eq!(ia_only.log_groups().len(), 1);
    let listed = c.list_log_groups().log_group_class(LogGroupClass::Standard).send().await.unwrap();
    assert_eq!(listed.log_groups().iter().filter_map(|g| g.log_group_name()).collect::<Vec<_>>(), ["std"]);

    // Infrequent Access does not extract metrics; DELIVERY is for vended logs.
    let t = MetricTransformation::builder().metric_name("M").metric_namespace("N").metric_value("1").build().unwrap();
    let refused = err(c
        .put_metric_filter()
        .log_group_name("ia")
        .filter_name("f")
        .filter_pattern("x")
        .metric_transformations(t)
        .send()
        .await);
    assert_eq!(refused.0, "InvalidParameterException");
    let delivery = err(c.create_log_group().log_group_name("d").log_group_class(LogGroupClass::Delivery).send().await);
    assert_eq!(delivery.0, "InvalidParameterException");

    // A protected group is not deleted until protection is turned off (by name or ARN).
    let refused = err(c.delete_log_group().log_group_name("std").send().await);
    assert_eq!(
        refused,
        (
            "ValidationException".into(),
            "Cannot delete log group with deletion protection enabled. Disable deletion protection first.".into()
        )
    );
    c.put_log_group_deletion_protection()
        .log_group_identifier(arn(&account, "std"))
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    c.put_log_group_deletion_protection()
        .log_group_identifier("ia")
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(err(c.delete_log_group().log_group_name("ia").send().await).0, "ValidationException");
    c.delete_log_group().log_group_name("std").send().await.unwrap();
    let missing = err(c
        .put_log_group_deletion_protection()
        .log_group_identifier("std")
        .deletion_protection_enabled(true)
        .send()
        .await);
    assert_eq!(missing.0, "ResourceNotFoundException");
    // Other regions of the account are separate.
    let west = logs_client_for(&account, "eu-west-1");
    assert!(west.list_log_groups().send().await.unwrap().log_groups().is_empty());
}
