//! Parsing, matching and extraction never panic, and `extract` and `fields` agree with `matches`
//! (and with each other), for arbitrary strings and for generated patterns close to the grammar.

use logbook_filter::FilterPattern;
use proptest::prelude::*;

fn check(pattern: &str, messages: &[String]) {
    let Ok(p) = FilterPattern::parse(pattern) else { return };
    for m in messages {
        let matched = p.matches(m);
        let extracted = p.extract(m);
        assert_eq!(matched, extracted.is_some(), "pattern {pattern:?} message {m:?}");
        // What a metric filter reads (`fields`, in place) is what TestMetricFilter reports.
        let fields = p.fields(m);
        assert_eq!(matched, fields.is_some(), "pattern {pattern:?} message {m:?}");
        if let (Some(extracted), Some(fields)) = (&extracted, &fields) {
            for (k, v) in extracted {
                assert_eq!(fields.get(k).as_deref(), Some(v.as_str()), "pattern {pattern:?} message {m:?} {k}");
            }
        }
    }
    for v in ["$1", "$.a", "$a", "$", "", "1"] {
        let _ = p.can_produce(v);
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,4}(\\.[0-9]{1,2})?(e[+-]?[0-9])?",
        "\\*?[a-z0-9]{0,4}\\*?",
        "\"[a-z *\\\\\"]{0,6}\"",
        "%[a-z.\\\\*+?^$|\\[\\]{},0-9 ]{1,8}%",
    ]
}

fn op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["=", "!=", "<", ">", "<=", ">="])
}

fn json_cond() -> impl Strategy<Value = String> {
    let selector = prop::sample::select(vec!["$.a", "$.b", "$.b[0]", "$.b[1].c", "$.*", "$.b[*]", "$['x.y']", "$[0]"]);
    let test = prop_oneof![
        (op(), value()).prop_map(|(o, v)| format!(" {o} {v}")),
        prop::sample::select(vec![" IS NULL", " IS TRUE", " IS FALSE", " NOT EXISTS"]).prop_map(String::from),
    ];
    (selector, test, any::<bool>())
        .prop_map(|(s, t, paren)| if paren { format!("({s}{t})") } else { format!("{s}{t}") })
}

fn joined(items: Vec<String>, ands: Vec<bool>) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(if ands[i % ands.len()] { " && " } else { " || " });
        }
        out.push_str(&item);
    }
    out
}

fn delimited_field() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec!["a", "b", "c", "d"]);
    prop_oneof![
        Just("...".to_string()),
        Just(String::new()),
        name.clone().prop_map(String::from),
        (name.clone(), op(), value()).prop_map(|(n, o, v)| format!("{n}{o}{v}")),
        (name, op(), value(), op(), value(), any::<bool>()).prop_map(|(n, o1, v1, o2, v2, and)| {
            format!("{n} {o1} {v1} {} {n} {o2} {v2}", if and { "&&" } else { "||" })
        }),
    ]
}

fn term() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["", "?", "-"]), prop_oneof!["[a-z:/=.]{1,5}", "\"[a-z \\\\\"]{0,5}\""])
        .prop_map(|(prefix, t)| format!("{prefix}{t}"))
}

/// Patterns built from the grammar (most parse), sometimes cut short (most then do not).
fn structured_pattern() -> impl Strategy<Value = String> {
    let pattern = prop_oneof![
        (prop::collection::vec(json_cond(), 1..5), prop::collection::vec(any::<bool>(), 1..4))
            .prop_map(|(c, a)| format!("{{ {} }}", joined(c, a))),
        prop::collection::vec(delimited_field(), 0..7).prop_map(|f| format!("[{}]", f.join(", "))),
        prop::collection::vec(term(), 1..4).prop_map(|t| t.join(" ")),
    ];
    (pattern, any::<prop::sample::Index>(), 0..4usize).prop_map(|(p, cut, mode)| {
        if mode > 0 {
            return p;
        }
        let chars: Vec<char> = p.chars().collect();
        chars[..cut.index(chars.len() + 1)].iter().collect()
    })
}

/// Messages shaped like the three kinds of events, plus noise.
fn message() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec("-?[0-9]{1,3}|[a-z]{1,3}|\\[[a-z ]{0,4}\\]|\"[a-z ]{0,4}\"", 0..7)
            .prop_map(|t| t.join(" ")),
        "[a-z0-9 \"\\[\\]\\\\.-]{0,40}",
        prop::collection::vec(("[a-z]{1,3}", "[a-z0-9\"]{0,5}|-?[0-9]{1,3}|true|null|\\[1, 2\\]|\\{\\}"), 0..5)
            .prop_map(|kv| {
                let body: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if v.chars().all(|c| c.is_ascii_lowercase()) { format!("\"{v}\"") } else { v };
                        format!("\"{k}\": {v}")
                    })
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        r#"\{"a": \[?"?[a-z0-9\\]{0,6}"?\]?, "b": \[[0-9], \{"x.y": [0-9]\}\]\}"#,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_patterns(pattern in any::<String>(), messages in prop::collection::vec(message(), 0..4)) {
        check(&pattern, &messages);
    }

    #[test]
    fn pattern_like_strings(
        pattern in "[\\[\\]{}()\"%$.*?&|!=<>a-z0-9,_ \\\\-]{0,40}",
        messages in prop::collection::vec(message(), 0..4),
    ) {
        check(&pattern, &messages);
    }

    #[test]
    fn structured_patterns(pattern in structured_pattern(), messages in prop::collection::vec(message(), 1..6)) {
        check(&pattern, &messages);
    }
}
