//! The wire protocol as raw HTTP, for what SDKs never send.

use logbook_tests::{new_account, raw_post, sigv4};

/// path, headers, body, expected status, expected `__type` ("" for success)
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, u16, &'a str);

#[test]
fn protocol_errors_are_aws_shaped() {
    let auth = sigv4(&new_account(), "logs");
    let cases: &[Case] = &[
        (
            "/",
            &[("x-amz-target", "Logs_20140328.Frobnicate"), ("authorization", &auth)],
            "{}",
            400,
            "UnknownOperationException",
        ),
        ("/", &[("authorization", &auth)], "{}", 400, "UnknownOperationException"),
        (
            "/",
            &[("x-amz-target", "Logs_20140328.DescribeLogGroups"), ("authorization", &auth)],
            "{not json",
            400,
            "SerializationException",
        ),
        ("/", &[("x-amz-target", "Logs_20140328.DescribeLogGroups")], "{}", 400, "MissingAuthenticationTokenException"),
        (
            "/",
            &[("x-amz-target", "Logs_20140328.DescribeLogGroups"), ("authorization", "AWS4-HMAC-SHA256 Credential=x")],
            "{}",
            400,
            "IncompleteSignatureException",
        ),
        ("/", &[("x-amz-target", "Logs_20140328.DescribeLogGroups"), ("authorization", &auth)], "{}", 200, ""),
        (
            "/log-groups/",
            &[("x-amz-target", "Logs_20140328.DescribeLogGroups"), ("authorization", &auth)],
            "{}",
            200,
            "",
        ),
    ];
    // An action of the catalogue that no function serves yet is unknown too.
    let unserved = logbook_protocol::Action::ALL.iter().find(|a| a.group().is_none());
    let unserved_target = unserved.map(|a| format!("Logs_20140328.{a}"));
    let unserved_case;
    let mut cases = cases.to_vec();
    if let Some(t) = &unserved_target {
        unserved_case = [("x-amz-target", t.as_str()), ("authorization", auth.as_str())];
        cases.push(("/", &unserved_case, "{}", 400, "UnknownOperationException"));
    }
    for (path, headers, body, status, code) in &cases {
        let (s, v, head) = raw_post(path, headers, body);
        assert_eq!(s, *status, "{headers:?} {body}: {v}");
        assert!(head.to_ascii_lowercase().contains("x-amzn-requestid:"), "request id on every response");
        assert!(head.to_ascii_lowercase().contains("content-type: application/x-amz-json-1.1"));
        if code.is_empty() {
            assert!(v["logGroups"].is_array());
        } else {
            assert_eq!(v["__type"], *code, "{headers:?} {body}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
}
