//! Resource policies through the real aws-sdk-cloudwatchlogs client: upsert, the ten-policy
//! limit, paging, documents echoed verbatim by Put and shown as AWS stores them by Describe,
//! AWS's errors, and accounts kept apart.

use logbook_tests::{err, logs_client, logs_client_for, new_account};

const SENT: &str = r#"{"Statement":[{"Action":"logs:PutLogEvents","Effect":"Allow","Principal":{"Service":["route53.amazonaws.com"]},"Resource":"*"}]}"#;
const STORED: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"route53.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}"#;

#[tokio::test]
async fn put_describe_delete_as_aws_answers() {
    let (c, _) = logs_client();
    let put = c.put_resource_policy().policy_name("route53").policy_document(SENT).send().await.unwrap();
    let p = put.resource_policy().unwrap();
    assert_eq!(p.policy_name(), Some("route53"));
    assert_eq!(p.policy_document(), Some(SENT), "Put echoes the document verbatim");
    assert_eq!(p.policy_scope().map(|s| s.as_str()), Some("ACCOUNT"));
    let first = p.last_updated_time().unwrap();

    let all = c.describe_resource_policies().send().await.unwrap();
    assert_eq!(all.resource_policies().len(), 1);
    let d = &all.resource_policies()[0];
    assert_eq!(d.policy_document(), Some(STORED), "Describe shows the document as AWS stores it");
    assert_eq!(d.last_updated_time(), Some(first));
    assert!(all.next_token().is_none());

    // An update replaces the document and moves lastUpdatedTime.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#;
    let updated = c.put_resource_policy().policy_name("route53").policy_document(doc).send().await.unwrap();
    assert!(updated.resource_policy().unwrap().last_updated_time().unwrap() > first);
    let all = c.describe_resource_policies().send().await.unwrap();
    assert_eq!(all.resource_policies().len(), 1, "an upsert, not a second policy");
    assert_eq!(all.resource_policies()[0].policy_document(), Some(doc), "already canonical: unchanged");

    c.delete_resource_policy().policy_name("route53").send().await.unwrap();
    assert!(c.describe_resource_policies().send().await.unwrap().resource_policies().is_empty());
    let gone = err(c.delete_resource_policy().policy_name("route53").send().await);
    assert_eq!(gone, ("ResourceNotFoundException".into(), "Policy with name [route53] does not exist.".into()));
}

#[tokio::test]
async fn ten_per_account_and_region_paged_in_name_order() {
    let (c, account) = logs_client();
    for i in (0..10).rev() {
        c.put_resource_policy().policy_name(format!("p{i}")).policy_document(SENT).send().await.unwrap();
    }
    let over = err(c.put_resource_policy().policy_name("p10").policy_document(SENT).send().await);
    assert_eq!(over, ("LimitExceededException".into(), "Resource limit exceeded.".into()));
    // An update at the limit is allowed.
    c.put_resource_policy().policy_name("p3").policy_document(SENT).send().await.unwrap();

    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = c.describe_resource_policies().limit(3).set_next_token(token).send().await.unwrap();
        assert!(page.resource_policies().len() <= 3);
        names.extend(page.resource_policies().iter().map(|p| p.policy_name().unwrap().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, (0..10).map(|i| format!("p{i}")).collect::<Vec<_>>());

    // Another region and another account have their own ten.
    let west = logs_client_for(&account, "us-west-2");
    west.put_resource_policy().policy_name("p10").policy_document(SENT).send().await.unwrap();
    let other = logs_client_for(&new_account(), "us-east-1");
    assert!(other.describe_resource_policies().send().await.unwrap().resource_policies().is_empty());

    // A freed slot can be used again.
    c.delete_resource_policy().policy_name("p0").send().await.unwrap();
    c.put_resource_policy().policy_name("p10").policy_document(SENT).send().await.unwrap();
}

#[tokio::test]
async fn bad_requests_are_invalid_parameters() {
    let (c, _) = logs_client();
    let cases = [
        ("p", "{not json".to_owned()),
        ("p", "[]".to_owned()),
        ("p", r#"{"Version":"2012-10-17"}"#.to_owned()),
        ("p", "x".repeat(51_201)),
        ("", SENT.to_owned()),
    ];
    for (name, doc) in cases {
        let e = err(c.put_resource_policy().policy_name(name).policy_document(&doc).send().await);
        assert_eq!(e.0, "InvalidParameterException", "{name} {}", &doc[..doc.len().min(40)]);
    }
    let e = err(c.put_resource_policy().policy_document(SENT).send().await);
    assert_eq!(e.0, "InvalidParameterException");
    let e = err(c.describe_resource_policies().limit(51).send().await);
    assert_eq!(e.0, "InvalidParameterException");
    let e = err(c.describe_resource_policies().next_token("bogus").send().await);
    assert_eq!(e, ("InvalidParameterException".into(), "The specified nextToken is invalid.".into()));
    // A document of the largest length today's model allows is taken.
    let pad = " ".repeat(51_200 - SENT.len());
    c.put_resource_policy().policy_name("big").policy_document(format!("{SENT}{pad}")).send().await.unwrap();
}
