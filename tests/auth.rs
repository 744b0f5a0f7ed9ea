//! Trust: every call's SigV4 signature is verified against the key store before anything else
//! runs; each way of getting it wrong answers as CloudWatch Logs does.

use std::time::{Duration, SystemTime};

use logbook_tests::{SECRET, endpoint, logs_client, logs_client_for, new_account, trail_client_for};

/// A raw signed POST to the in-process gateway, with every signing input under the test's
/// control. Returns (status, body).
fn post(
    key: &str,
    secret: &str,
    service: &str,
    region: &str,
    at: SystemTime,
    target: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    post_other(key, secret, service, region, at, target, body, body)
}

/// As [`post`], but the body sent is `sent`, not the one signed.
#[allow(clippy::too_many_arguments)]
fn post_other(
    key: &str,
    secret: &str,
    service: &str,
    region: &str,
    at: SystemTime,
    target: &str,
    body: &str,
    sent: &str,
) -> (u16, serde_json::Value) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let addr = endpoint().trim_start_matches("http://").to_owned();
    let mut headers = vec![
        ("host".to_owned(), addr.clone()),
        ("x-amz-target".to_owned(), target.to_owned()),
        ("content-type".to_owned(), "application/x-amz-json-1.1".to_owned()),
    ];
    let identity = aws_credential_types::Credentials::new(key, secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        "POST",
        "/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    headers.extend(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())));
    let refs: Vec<(&str, &str)> =
        headers.iter().filter(|(k, _)| k != "host").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, v, _) = logbook_tests::raw_post("/", &refs, sent);
    (status, v)
}

const DESCRIBE: &str = "Logs_20140328.DescribeLogGroups";

/// What was sent, what came back, and the expected status, code and message.
type Case<'a> = (&'a str, (u16, serde_json::Value), u16, &'a str, Option<&'a str>);

#[test]
fn each_way_of_signing_wrong_answers_as_aws_does() {
    let account = new_account();
    let now = SystemTime::now();
    let mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS \
                    Secret Access Key and signing method. Consult the service documentation for details.";
    let cases: Vec<Case> = vec![
        ("the right key", post(&account, SECRET, "logs", "us-east-1", now, DESCRIBE, "{}"), 200, "", None),
        (
            "a wrong secret",
            post(&account, "wrong", "logs", "us-east-1", now, DESCRIBE, "{}"),
            400,
            "InvalidSignatureException",
            Some(mismatch),
        ),
        (
            "an unknown key",
            post("AKIDNOBODY", SECRET, "logs", "us-east-1", now, DESCRIBE, "{}"),
            400,
            "UnrecognizedClientException",
            Some("The security token included in the request is invalid."),
        ),
        (
            "signed in 2001",
            post(
                &account,
                SECRET,
                "logs",
                "us-east-1",
                SystemTime::UNIX_EPOCH + Duration::from_secs(978_307_200),
                DESCRIBE,
                "{}",
            ),
            400,
            "InvalidSignatureException",
            None,
        ),
        (
            "ten minutes ahead",
            post(&account, SECRET, "logs", "us-east-1", now + Duration::from_secs(600), DESCRIBE, "{}"),
            400,
            "InvalidSignatureException",
            None,
        ),
        (
            "scoped to another service",
            post(&account, SECRET, "s3", "us-east-1", now, DESCRIBE, "{}"),
            400,
            "InvalidSignatureException",
            Some("Credential should be scoped to correct service: 'logs'. "),
        ),
        (
            "a Logs call scoped to cloudtrail",
            post(&account, SECRET, "cloudtrail", "us-east-1", now, DESCRIBE, "{}"),
            400,
            "InvalidSignatureException",
            Some("Credential should be scoped to correct service: 'logs'. "),
        ),
        (
            "a made-up region",
            post(&account, SECRET, "logs", "moon-east-1", now, DESCRIBE, "{}"),
            400,
            "InvalidSignatureException",
            Some("Credential should be scoped to a valid region. "),
        ),
    ];
    for (what, (status, v), want_status, code, message) in cases {
        assert_eq!(status, want_status, "{what}: {v}");
        if !code.is_empty() {
            assert_eq!(v["__type"], code, "{what}");
            if let Some(m) = message {
                assert_eq!(v["message"], m, "{what}");
            }
        }
    }
    // The expiry messages name the request's time and ours.
    let (_, v) = post(&account, SECRET, "logs", "us-east-1", now - Duration::from_secs(600), DESCRIBE, "{}");
    let m = v["message"].as_str().unwrap();
    assert!(m.starts_with("Signature expired: ") && m.ends_with(" - 5 min.)"), "{m}");
    let (_, v) = post(&account, SECRET, "logs", "us-east-1", now + Duration::from_secs(600), DESCRIBE, "{}");
    let m = v["message"].as_str().unwrap();
    assert!(m.starts_with("Signature not yet current: ") && m.ends_with(" + 5 min.)"), "{m}");
}

#[test]
fn unsigned_and_malformed_calls() {
    let t = ("x-amz-target", DESCRIBE);
    let (status, v, _) = logbook_tests::raw_post("/", &[t], "{}");
    assert_eq!((status, v["__type"].as_str()), (400, Some("MissingAuthenticationTokenException")));
    for auth in [
        "AWS4-HMAC-SHA256 Credential=x",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 Credential=AK/20261120/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=00",
    ] {
        let (status, v, _) = logbook_tests::raw_post("/", &[t, ("authorization", auth)], "{}");
        assert_eq!((status, v["__type"].as_str()), (400, Some("IncompleteSignatureException")), "{auth}");
    }
}

/// A changed body is a changed request: the signature no longer matches.
#[test]
fn a_body_changed_after_signing_is_refused() {
    let account = new_account();
    let now = SystemTime::now();
    let (status, _) =
        post_other(&account, SECRET, "logs", "us-east-1", now, DESCRIBE, r#"{"limit":1}"#, r#"{"limit":1}"#);
    assert_eq!(status, 200);
    let (status, v) =
        post_other(&account, SECRET, "logs", "us-east-1", now, DESCRIBE, r#"{"limit":1}"#, r#"{"limit":2}"#);
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")));
}

#[tokio::test]
async fn sdk_clients_pass_and_accounts_stay_apart() {
    let (a, account_a) = logs_client();
    let (b, _) = logs_client();
    a.create_log_group().log_group_name("mine").send().await.unwrap();
    assert!(b.describe_log_groups().send().await.unwrap().log_groups().is_empty());
    let groups = a.describe_log_groups().send().await.unwrap();
    assert_eq!(
        groups.log_groups()[0].arn(),
        Some(format!("arn:aws:logs:us-east-1:{account_a}:log-group:mine:*").as_str())
    );
    // CloudTrail signs for `cloudtrail`; its calls verify too.
    trail_client_for(&account_a, "us-east-1").describe_trails().send().await.unwrap();
    // A 1 MB PutLogEvents verifies (its body hash is part of the signature).
    a.create_log_stream().log_group_name("mine").log_stream_name("s").send().await.unwrap();
    let message = "x".repeat(1_048_550);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    let event = logbook_tests::logs::types::InputLogEvent::builder().timestamp(now).message(message).build().unwrap();
    a.put_log_events().log_group_name("mine").log_stream_name("s").log_events(event).send().await.unwrap();
    // The wrong secret fails through the SDK too.
    let conf = logbook_tests::logs::Config::builder()
        .behavior_version(logbook_tests::logs::config::BehaviorVersion::latest())
        .region(logbook_tests::logs::config::Region::new("us-east-1"))
        .credentials_provider(logbook_tests::logs::config::Credentials::new(&account_a, "wrong", None, None, "test"))
        .endpoint_url(endpoint())
        .build();
    let wrong = logbook_tests::logs::Client::from_conf(conf);
    let (code, _) = logbook_tests::err(wrong.describe_log_groups().send().await);
    assert_eq!(code, "InvalidSignatureException");
    // An IAM user's key acts in its account, and the audit record says who.
    let alice = logs_client_for("AKIDALICE", "us-east-1");
    alice.describe_log_groups().send().await.unwrap();
    let trail = trail_client_for("AKIDALICE", "us-east-1");
    let found = trail
        .lookup_events()
        .lookup_attributes(
            aws_sdk_cloudtrail::types::LookupAttribute::builder()
                .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::Username)
                .attribute_value("alice")
                .build()
                .unwrap(),
        )
        .max_results(1)
        .send()
        .await
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(found.events()[0].cloud_trail_event().unwrap()).unwrap();
    assert_eq!(record["userIdentity"]["type"], "IAMUser");
    assert_eq!(record["userIdentity"]["userName"], "alice");
    assert_eq!(record["userIdentity"]["accountId"], "444455556666");
    assert_eq!(record["userIdentity"]["accessKeyId"], "AKIDALICE");
    assert_eq!(record["userIdentity"]["arn"], "arn:aws:iam::444455556666:user/alice");
}

/// The presigned form: the signature in the query string (as `aws-sigv4` and boto3 presign).
#[test]
fn presigned_requests_verify() {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
    let account = new_account();
    let addr = endpoint().trim_start_matches("http://").to_owned();
    let body = "{}";
    let presign = |secret: &str, unsigned_payload: bool| {
        let headers = [("host", addr.as_str()), ("x-amz-target", DESCRIBE)];
        let identity = aws_credential_types::Credentials::new(&account, secret, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("logs")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let payload =
            if unsigned_payload { SignableBody::UnsignedPayload } else { SignableBody::Bytes(body.as_bytes()) };
        let request = SignableRequest::new("POST", "/", headers.into_iter(), payload).unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let query: Vec<String> = instructions
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace('/', "%2F").replace(';', "%3B")))
            .collect();
        format!("/?{}", query.join("&"))
    };
    for unsigned_payload in [true, false] {
        let (status, v, _) =
            logbook_tests::raw_post(&presign(SECRET, unsigned_payload), &[("x-amz-target", DESCRIBE)], body);
        assert_eq!(status, 200, "{v}");
    }
    let (status, v, _) = logbook_tests::raw_post(&presign("wrong", true), &[("x-amz-target", DESCRIBE)], body);
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")));
}
