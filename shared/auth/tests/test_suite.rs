//! AWS's published SigV4 test suite: every signed request verifies with the suite's secret, and
//! stops verifying when any signed part of it changes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use logbook_auth::sigv4::{Request, Signature, parse_amz_date};
use logbook_protocol::ErrorCode;

struct Parsed {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// `METHOD PATH HTTP/1.1`, `Name:value` lines, a blank line, the body.
fn parse(text: &str) -> Parsed {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap().to_owned();
    let target = parts.next().unwrap();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    Parsed { method, path, query, headers, body: body.as_bytes().to_vec() }
}

fn suite() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-test-suite");
    // Directories only (the README sits beside them).
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    cases
}

/// Cases Logbook cannot or must not verify, with why.
fn skipped(name: &str, context: &serde_json::Value) -> Option<&'static str> {
    if context["normalize"] == false {
        return Some("signed without URI normalisation (S3's rule); CloudWatch Logs normalises");
    }
    match name {
        "get-header-value-multiline" => Some("HTTP cannot carry a header value with line breaks"),
        "get-space-unnormalized" | "get-utf8" => {
            Some("a raw space or UTF-8 byte cannot be sent on an HTTP request line")
        }
        "get-space-normalized" => {
            Some("the vector encodes the path once; non-S3 services (and aws-sigv4) encode twice")
        }
        _ if context["credentials"]["token"].is_string() => Some("carries a session token; Logbook issues none"),
        _ => None,
    }
}

#[test]
fn every_case_verifies_both_ways_and_no_tampering_does() {
    let mut verified = 0;
    let mut skipped_cases = Vec::new();
    for dir in suite() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let context: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).unwrap()).unwrap();
        if let Some(why) = skipped(&name, &context) {
            skipped_cases.push(format!("{name}: {why}"));
            continue;
        }
        let secret = context["credentials"]["secret_access_key"].as_str().unwrap();
        let ts = context["timestamp"].as_str().unwrap().replace(['-', ':'], "");
        let now = parse_amz_date(&ts).unwrap();
        for file in ["header-signed-request.txt", "query-signed-request.txt"] {
            let signed = parse(&std::fs::read_to_string(dir.join(file)).unwrap());
            let headers: Vec<(&str, &str)> = signed.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let req = Request {
                method: &signed.method,
                path: &signed.path,
                query: signed.query.as_deref(),
                headers: &headers,
                body: &signed.body,
            };
            let sig = Signature::parse(&req).unwrap().unwrap_or_else(|| panic!("{name}/{file}: no signature"));
            assert_eq!(sig.access_key_id, "AKIDEXAMPLE");
            sig.check_time(now).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
            sig.verify(&req, secret).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
            // The wrong secret, a changed body, a changed signed header: each a mismatch.
            assert_eq!(sig.verify(&req, "wrong").unwrap_err().code, ErrorCode::InvalidSignatureException, "{name}");
            let mut changed = signed.body.clone();
            changed.extend_from_slice(b"x");
            let body_changed = Request { body: &changed, ..req };
            if file.starts_with("header") {
                assert!(sig.verify(&body_changed, secret).is_err(), "{name}/{file}: a changed body verified");
            }
            let mut tampered = signed.headers.clone();
            for (k, v) in &mut tampered {
                if k.eq_ignore_ascii_case("host") {
                    v.push_str(".evil");
                }
            }
            let tampered: Vec<(&str, &str)> = tampered.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert!(
                sig.verify(&Request { headers: &tampered, ..req }, secret).is_err(),
                "{name}/{file}: a changed host verified"
            );
            verified += 1;
        }
    }
    eprintln!("verified {verified} signed requests; skipped:\n  {}", skipped_cases.join("\n  "));
    assert!(verified >= 50, "only {verified} verified");
}

#[test]
fn time_is_checked_both_ways() {
    let dir = suite().into_iter().find(|d| d.ends_with("get-vanilla")).unwrap();
    let signed = parse(&std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap());
    let headers: Vec<(&str, &str)> = signed.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let req = Request {
        method: &signed.method,
        path: &signed.path,
        query: signed.query.as_deref(),
        headers: &headers,
        body: &signed.body,
    };
    let sig = Signature::parse(&req).unwrap().unwrap();
    let at = parse_amz_date("20150830T123600Z").unwrap();
    let cases: [(SystemTime, Option<&str>); 5] = [
        (at, None),
        (at + Duration::from_secs(299), None),
        (at - Duration::from_secs(299), None),
        (
            at + Duration::from_secs(301),
            Some(
                "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)",
            ),
        ),
        (
            at - Duration::from_secs(301),
            Some(
                "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)",
            ),
        ),
    ];
    for (now, want) in cases {
        let got = sig.check_time(now).err().map(|e| {
            assert_eq!(e.code, ErrorCode::InvalidSignatureException);
            e.message
        });
        assert_eq!(got.as_deref(), want, "{:?}", now.duration_since(UNIX_EPOCH));
    }
}
