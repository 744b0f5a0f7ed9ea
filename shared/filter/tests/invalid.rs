//! Patterns AWS rejects, each with where the error points (0-based character offset).

use logbook_filter::{FilterPattern, PatternError};

fn err(pattern: &str) -> PatternError {
    match FilterPattern::parse(pattern) {
        Ok(p) => panic!("{pattern:?} parsed: {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn rejected_with_position() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        // Quotes.
        ("\"ERROR", Some(0), "unterminated quoted string starting at position 0"),
        ("ERROR \"abc", Some(6), "unterminated quoted string starting at position 6"),
        ("\"a\\\"", Some(0), "unterminated quoted string"),
        ("foo\"bar", Some(3), "unexpected '\"' inside a term"),
        ("\"abc\"def", Some(5), "quoted phrase must be followed by a space"),
        ("{ $.a = \"x }", Some(8), "unterminated quoted string"),
        ("[a=\"x, b]", Some(3), "unterminated quoted string"),
        // Braces and brackets.
        ("{ $.a = 1", Some(0), "missing closing '}'"),
        ("{ $.a = 1 } extra", Some(12), "unexpected text after the closing '}'"),
        ("{}", Some(0), "empty JSON pattern"),
        ("{ }", Some(0), "empty JSON pattern"),
        ("{ ($.a = 1 }", Some(2), "missing ')'"),
        ("{ $.a = 1 ) }", Some(10), "expected &&, || or '}'"),
        ("[a, b", Some(0), "missing closing ']'"),
        ("[a] x", Some(4), "unexpected text after the closing ']'"),
        ("[a, b c]", Some(6), "expected ',' or ']'"),
        ("[a, (b=1]", Some(4), "missing ')'"),
        // JSON selectors and operators.
        ("{ a = 1 }", Some(2), "expected a property selector"),
        ("{ $ = 1 }", Some(2), "needs a property after '$'"),
        ("{ $. = 1 }", Some(3), "expected a property name"),
        ("{ $.a[x] = 1 }", Some(6), "expected an index"),
        ("{ $.a[1 = 1 }", Some(5), "missing ']'"),
        ("{ $.a == 1 }", Some(7), "unexpected '=' after '='"),
        ("{ $.a => 1 }", Some(7), "unexpected '>' after '='"),
        ("{ $.a ! 1 }", Some(6), "'!' must be followed by '='"),
        ("{ $.a 1 }", Some(6), "expected an operator"),
        ("{ $.a = }", Some(6), "missing value after '='"),
        ("{ $.a != }", Some(6), "missing value after '!='"),
        ("{ $.a < \"5\" }", Some(8), "'<' needs a number"),
        ("{ $.a > abc }", Some(8), "'>' needs a number"),
        ("{ $.a >= 4* }", Some(9), "'>=' needs a number"),
        ("{ $.a < %5% }", Some(8), "'<' needs a number"),
        ("{ $.a = 1 && }", Some(13), "expected a property selector"),
        ("{ $.a = 1 || }", Some(13), "expected a property selector"),
        ("{ $.a = \"x\" \"y\" }", Some(12), "expected &&, || or '}'"),
        ("{ $.a IS NOT NULL }", Some(6), "IS NOT is not supported"),
        ("{ $.a EXISTS }", Some(6), "EXISTS is not supported"),
        ("{ $.a IS MAYBE }", Some(9), "expected NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", Some(10), "expected EXISTS"),
        ("{ $.a LIKE 1 }", Some(6), "unknown keyword"),
        ("{ $.a[*].b[*] = 1 }", Some(2), "at most one wildcard"),
        ("{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 || $.* = 1 }", Some(43), "too many wildcard selectors"),
        ("{ $.a = b\"c }", Some(9), "unexpected '\"' inside a value"),
        // Space-delimited fields.
        ("[a, a]", Some(4), "duplicate field name 'a'"),
        ("[a, b=]", Some(5), "missing value after '='"),
        ("[a, b=1 && c=2]", Some(11), "must all name that field"),
        ("[a || a=1]", Some(1), "'a' needs an operator"),
        ("[1a]", Some(1), "must not start with a digit"),
        ("[a, ....]", Some(4), "expected '...'"),
        ("[a, ..]", Some(4), "expected '...'"),
        ("[a, b > x]", Some(8), "'>' needs a number"),
        ("[a=ERROR || , b]", Some(12), "expected a field name"),
        ("[a=(1)]", Some(2), "missing value after '='"),
        ("[=1]", Some(1), "expected a field name"),
        // Regular expressions.
        ("%abc", Some(0), "unterminated regular expression"),
        ("%%", Some(0), "empty regular expression"),
        ("%a(b)c%", Some(2), "parentheses are not supported"),
        ("%déjà%", Some(2), "multi-byte"),
        ("%something!%", Some(10), "unsupported character '!'"),
        ("%\\bword%", Some(1), "unsupported escape"),
        ("%a**%", Some(3), "nothing to repeat"),
        ("%[a%", Some(1), "unterminated character class"),
        ("%abc% def", Some(6), "must be the whole pattern"),
        ("ERROR %foo%", Some(6), "must be the whole pattern"),
        ("{ $.a = %a% || $.b = %b% || $.c = %c% }", Some(34), "too many regular expressions"),
        ("[a=%x%, b=%y%, c=%z%]", Some(17), "too many regular expressions"),
        ("{ $.a = %a\"b% }", Some(10), "unsupported character '\"'"),
        // Terms.
        ("-", Some(0), "'-' must be followed by a term"),
        ("?", Some(0), "'?' must be followed by a term"),
        ("ERROR -  ", Some(6), "'-' must be followed by a term"),
    ];
    let mut failures = Vec::new();
    for (pattern, position, text) in cases {
        let e = err(pattern);
        if e.position != *position || !e.message.contains(text) {
            failures.push(format!(
                "{pattern:?}: got {:?} {:?}, want {position:?} containing {text:?}",
                e.position, e.message
            ));
        }
        assert!(e.to_string().starts_with("Invalid filter pattern: "), "{e}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn display_is_a_sentence() {
    let e = err("ERROR \"abc");
    assert_eq!(e.to_string(), "Invalid filter pattern: unterminated quoted string starting at position 6");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().contains("position 6"));
}

#[test]
fn length_limit() {
    let ok = format!("\"{}\"", "x".repeat(1022));
    assert_eq!(ok.chars().count(), 1024);
    assert!(FilterPattern::parse(&ok).is_ok());
    let long = format!("\"{}\"", "x".repeat(1023));
    let e = err(&long);
    assert_eq!(e.position, None);
    assert!(e.message.contains("1025 characters"), "{e}");
    // Characters, not bytes.
    assert!(FilterPattern::parse(&"é".repeat(1024)).is_ok());
    assert!(FilterPattern::parse(&"é".repeat(1025)).is_err());
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(100), ")".repeat(100));
    assert!(err(&deep).message.contains("nested"));
    let ok = format!("{{ {}$.a = 1{} }}", "(".repeat(20), ")".repeat(20));
    assert!(FilterPattern::parse(&ok).is_ok());
}

#[test]
fn accepted_edge_cases() {
    for ok in [
        "{$.a=1}",
        "{ $.a = 1 && $.b = \"x\" || ($.c IS NULL) }",
        "{ $.a is null }",
        "{ $['a.b'][0].c = x }",
        "{ $.a-b_c = \"x\" }",
        "{ $[0] = 1 }",
        "[a,,b]",
        "[,a]",
        "[ ]",
        "[...]",
        "[a, ..., b, ..., c]",
        "[a = \"x, y\"]",
        "[a=%x,y%]",
        "{ $.a = %a% || $.b = %b% }",
        "?ERROR ?\"WARN x\"",
        "-\"DEBUG x\"",
        "ERROR: /health user=alice 50%",
        "%^[a-z]{2, 4}$%",
    ] {
        if let Err(e) = FilterPattern::parse(ok) {
            panic!("{ok:?}: {e}");
        }
    }
}
