//! The TestMetricFilter examples of the specification (000_…txt), with their exact outputs.
//! Two typos of that document are corrected as the spec README says: `"$size": "1534,"` is
//! `"1534"`, and the lines broken inside `HT TP/1.0` read `HTTP/1.0`. Event numbers are 0-based.

use logbook_filter::FilterPattern;
use std::collections::BTreeMap;

/// What TestMetricFilter answers: (eventNumber, extractedValues) per matching event.
fn test_metric_filter(pattern: &str, messages: &[&str]) -> Vec<(usize, BTreeMap<String, String>)> {
    let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let extracted = p.extract(m);
            assert_eq!(extracted.is_some(), p.matches(m), "{pattern} on {m}: extract and matches disagree");
            extracted.map(|e| (i, e))
        })
        .collect()
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const APACHE: [&str; 3] = [
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#,
];

const TIMES: [&str; 3] = ["10/Oct/2000:13:25:15 -0700", "10/Oct/2000:13:35:22 -0700", "10/Oct/2000:13:50:35 -0700"];
const STATUS: [&str; 3] = ["200", "500", "200"];
const SIZES: [&str; 3] = ["1534", "5324", "4355"];
const REQUEST: &str = "GET /apache_pb.gif HTTP/1.0";

#[test]
fn all_fields_named() {
    let got = test_metric_filter("[ip, identity, user_id, timestamp, request, status_code, size]", &APACHE);
    let want: Vec<_> = (0..3)
        .map(|i| {
            let v = values(&[
                ("$status_code", STATUS[i]),
                ("$identity", "-"),
                ("$request", REQUEST),
                ("$size", SIZES[i]),
                ("$user_id", "frank"),
                ("$ip", "127.0.0.1"),
                ("$timestamp", TIMES[i]),
            ]);
            (i, v)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn without_specifying_all_fields() {
    let got = test_metric_filter("[..., size]", &APACHE);
    let want: Vec<_> = (0..3)
        .map(|i| {
            let v = values(&[
                ("$size", SIZES[i]),
                ("$6", STATUS[i]),
                ("$4", TIMES[i]),
                ("$5", REQUEST),
                ("$2", "-"),
                ("$3", "frank"),
                ("$1", "127.0.0.1"),
            ]);
            (i, v)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn without_specifying_any_fields() {
    let got = test_metric_filter("[]", &APACHE);
    let want: Vec<_> = (0..3)
        .map(|i| {
            let v = values(&[
                ("$7", SIZES[i]),
                ("$6", STATUS[i]),
                ("$4", TIMES[i]),
                ("$5", REQUEST),
                ("$2", "-"),
                ("$3", "frank"),
                ("$1", "127.0.0.1"),
            ]);
            (i, v)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn successful_requests() {
    let got = test_metric_filter("[..., status_code=200, size]", &APACHE);
    let want: Vec<_> = [0, 2]
        .into_iter()
        .map(|i| {
            let v = values(&[
                ("$status_code", "200"),
                ("$size", SIZES[i]),
                ("$4", TIMES[i]),
                ("$5", REQUEST),
                ("$2", "-"),
                ("$3", "frank"),
                ("$1", "127.0.0.1"),
            ]);
            (i, v)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn client_errors_for_html_pages() {
    let messages = [
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#,
        r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /about-us/index.html HTTP/1.0" 200 5324"#,
        r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 404 4355"#,
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /products/index.html HTTP/1.0" 400 1534"#,
    ];
    let got = test_metric_filter("[..., request=*.html*, status_code=4*,]", &messages);
    let want = vec![
        (
            0,
            values(&[
                ("$status_code", "404"),
                ("$request", "GET /index.html HTTP/1.0"),
                ("$7", "1534"),
                ("$4", "10/Oct/2000:13:25:15 -0700"),
                ("$2", "-"),
                ("$3", "frank"),
                ("$1", "127.0.0.1"),
            ]),
        ),
        (
            3,
            values(&[
                ("$status_code", "400"),
                ("$request", "GET /products/index.html HTTP/1.0"),
                ("$7", "1534"),
                ("$4", "10/Oct/2000:13:25:15 -0700"),
                ("$2", "-"),
                ("$3", "frank"),
                ("$1", "127.0.0.1"),
            ]),
        ),
    ];
    assert_eq!(got, want);
}

const APP_LOG: [&str; 5] = [
    "02 May 2014 00:34:12,525 [INFO] Starting the application",
    "02 May 2014 00:35:14,245 [DEBUG] Database connection established",
    "02 May 2014 00:34:14,663 [INFO] Executing SQL Query",
    "02 May 2014 00:34:16,142 [ERROR] Unhandled exception: InvalidQueryException",
    "02 May 2014 00:34:16,224 [ERROR] Terminating the application",
];

#[test]
fn occurrences_of_error() {
    let got = test_metric_filter("\"[ERROR]\"", &APP_LOG);
    assert_eq!(got, vec![(3, BTreeMap::new()), (4, BTreeMap::new())]);
}

#[test]
fn occurrences_of_error_and_exception() {
    let got = test_metric_filter("\"[ERROR]\" Exception", &APP_LOG);
    assert_eq!(got, vec![(3, BTreeMap::new())]);
}

#[test]
fn metric_values_of_the_examples() {
    let p = FilterPattern::parse("[ip, identity, user_id, timestamp, request, status_code, size]").unwrap();
    assert!(p.can_produce("$size") && p.can_produce("$status_code"));
    assert!(!p.can_produce("$bytes") && !p.can_produce("$7") && !p.can_produce("size"));
    let p = FilterPattern::parse("[..., size]").unwrap();
    assert!(p.can_produce("$size") && p.can_produce("$1") && p.can_produce("$6") && p.can_produce("$40"));
    assert!(!p.can_produce("$0") && !p.can_produce("$01") && !p.can_produce("$x"));
    let p = FilterPattern::parse("[..., request=*.html*, status_code=4*,]").unwrap();
    assert!(p.can_produce("$7") && p.can_produce("$request"));
    let p = FilterPattern::parse("[a, , b]").unwrap();
    assert!(p.can_produce("$2") && !p.can_produce("$1") && !p.can_produce("$3") && !p.can_produce("$4"));
    let p = FilterPattern::parse("[]").unwrap();
    assert!(p.can_produce("$1") && p.can_produce("$12"));
    let p = FilterPattern::parse("\"[ERROR]\"").unwrap();
    assert!(!p.can_produce("$1") && !p.can_produce("1"));
}
