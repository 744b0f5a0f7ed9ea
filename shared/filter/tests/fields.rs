//! The fields a metric filter's value and dimensions name, table-driven.

use logbook_filter::FilterPattern;

#[test]
fn references_resolve_as_metric_filters_read_them() {
    // (pattern, message, reference, expected: None = no match, Some(None) = matched, no field)
    let cases: &[(&str, &str, &str, Option<Option<&str>>)] = &[
        ("{ $.latency > 0 }", r#"{"latency": 42.5}"#, "$.latency", Some(Some("42.5"))),
        // A path the pattern does not use: read from the event itself.
        ("{ $.val = * }", r#"{"val": 1, "value": 7}"#, "$.value", Some(Some("7"))),
        ("{ $.val = * }", r#"{"val": 1, "a": {"b": [3, 4]}}"#, "$.a.b[1]", Some(Some("4"))),
        ("{ $.val = * }", r#"{"val": 1, "a": {"b c": "x"}}"#, "$.a['b c']", Some(Some("x"))),
        ("{ $.val = * }", r#"{"val": 1}"#, "$.missing", Some(None)),
        ("{ $.val = * }", r#"{"val": 1, "o": {}}"#, "$.o", Some(None)),
        ("{ $.val = * }", r#"{"val": 1, "ok": true}"#, "$.ok", Some(Some("true"))),
        ("{ $.val = * }", r#"{"val": "s"}"#, " $.val ", Some(Some("s"))),
        ("{ $.val = * }", r#"{"other": 1}"#, "$.val", None),
        ("[ip, user, status, size]", "1.2.3.4 bob 200 1024", "$size", Some(Some("1024"))),
        ("[ip, user, status, size]", "1.2.3.4 bob 200 1024", "$ip", Some(Some("1.2.3.4"))),
        ("[ip, ..., size]", "1.2.3.4 a b 99", "$2", Some(Some("a"))),
        ("[ip, user, status, size]", "1.2.3.4 bob 200", "$size", None),
        ("[ip, user, status, size]", "1.2.3.4 bob 200 1024", "$.size", Some(None)),
        ("ERROR", "an ERROR here", "$size", Some(None)),
        ("ERROR", "all fine", "$size", None),
        ("", "anything", "$.x", Some(None)),
    ];
    for (pattern, message, reference, want) in cases {
        let p = FilterPattern::parse(pattern).unwrap();
        let got = p.fields(message).map(|f| f.get(reference).map(|v| v.into_owned()));
        let want = want.map(|w| w.map(str::to_owned));
        assert_eq!(got, want, "{pattern} / {message} / {reference}");
    }
}

#[test]
fn numbered_references_agree_with_test_metric_filter() {
    // Every key TestMetricFilter reports reads back the same through `fields`, for patterns
    // with ellipses and unnamed fields (a repeated name is refused when parsed).
    let cases: &[(&str, &str)] = &[
        ("[a, ..., b]", "1 2 3 4"),
        ("[a, , b]", "1 2 3"),
        ("[..., last]", "x y z"),
        ("[ip, ..., status=2*, size]", r#"1.2.3.4 - "GET /" [10/Oct] 200 512"#),
    ];
    for (pattern, message) in cases {
        let p = FilterPattern::parse(pattern).unwrap();
        let extracted = p.extract(message).unwrap();
        let fields = p.fields(message).unwrap();
        for (k, v) in &extracted {
            assert_eq!(fields.get(k).as_deref(), Some(v.as_str()), "{pattern} / {message} / {k}");
        }
    }
    assert!(FilterPattern::parse("[a, a]").is_err());
}
