//! The examples of AWS's "Filter pattern syntax for metric filters, subscription filters,
//! filter log events, and Live Tail" page (current and earlier editions), each with events that
//! must match and events that must not.

use logbook_filter::FilterPattern;
use std::collections::BTreeMap;

struct Case {
    pattern: &'static str,
    yes: &'static [&'static str],
    no: &'static [&'static str],
}

const fn case(pattern: &'static str, yes: &'static [&'static str], no: &'static [&'static str]) -> Case {
    Case { pattern, yes, no }
}

fn run(cases: &[Case]) {
    for c in cases {
        let p = FilterPattern::parse(c.pattern).unwrap_or_else(|e| panic!("{:?}: {e}", c.pattern));
        for m in c.yes {
            assert!(p.matches(m), "{:?} should match {m:?}", c.pattern);
            assert!(p.extract(m).is_some(), "{:?} should extract from {m:?}", c.pattern);
        }
        for m in c.no {
            assert!(!p.matches(m), "{:?} should not match {m:?}", c.pattern);
            assert!(p.extract(m).is_none(), "{:?} should not extract from {m:?}", c.pattern);
        }
    }
}

const E400: &str = "[ERROR 400] BAD REQUEST";
const E401: &str = "[ERROR 401] UNAUTHORIZED REQUEST";
const E419: &str = "[ERROR 419] MISSING ARGUMENTS";
const E420: &str = "[ERROR 420] INVALID ARGUMENTS";

#[test]
fn unstructured() {
    run(&[
        case("ERROR", &[E400, E401, E419, E420, "Exiting with ERRORCODE: -1"], &["[WARN] error", "all good"]),
        case("ERROR ARGUMENTS", &[E419, E420], &[E400, E401]),
        case("?ERROR ?ARGUMENTS", &[E400, E401, E419, E420, "ARGUMENTS only"], &["[INFO] nothing"]),
        // "?" terms next to other terms are ignored.
        case(
            "?ERROR ?ARGUMENTS REQUEST",
            &["[INFO] REQUEST FAILED", "[WARN] UNAUTHORIZED REQUEST", "[ERROR] 400 BAD REQUEST"],
            &[E419, "[ERROR] ARGUMENTS"],
        ),
        case("\"INTERNAL SERVER ERROR\"", &["[ERROR 500] INTERNAL SERVER ERROR"], &["INTERNAL ERROR SERVER", E400]),
        case("ERROR -ARGUMENTS", &[E400, E401], &[E419, E420, "[INFO] ok"]),
        case("\" \"", &["anything", "", "x"], &[]),
        case("\"\"", &["anything", ""], &[]),
        case("", &["anything", ""], &[]),
        case("   ", &["anything", ""], &[]),
        // Earlier editions.
        case("\"ERROR\"", &["[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"], &["error"]),
        case("\"ERROR\" - \"Exiting\"", &["[ERROR] A fatal exception has occurred"], &["Exiting with ERRORCODE: -1"]),
        case(
            "ERROR Exception",
            &["[ERROR] Caught IllegalArgumentException", "[ERROR] Unhandled Exception"],
            &["[ERROR] Caught", "Exception"],
        ),
        case(
            "Failed to process the request",
            &["[WARN] Failed to process the request", "[ERROR] Unable to continue: Failed to process the request"],
            &["[WARN] Failed to process"],
        ),
        case("ERROR", &["ERROR WARN message", "ERROR message"], &["WARN message"]),
        case("?ERROR ?WARN", &["ERROR WARN message", "ERROR message", "WARN message"], &["INFO message"]),
        case("ERROR WARN", &["ERROR WARN message"], &["ERROR message", "WARN message"]),
        case("ERROR -WARN", &["ERROR message"], &["ERROR WARN message", "WARN message"]),
        // Case-sensitive substrings; bare terms may hold punctuation.
        case("error", &["an error"], &["an ERROR"]),
        case("user=alice /health", &["GET /health user=alice"], &["GET /health user=bob"]),
        case("-DEBUG", &["INFO x", ""], &["DEBUG x"]),
        case("\"say \\\"hi\\\"\"", &["they say \"hi\" twice"], &["they say hi"]),
    ]);
}

#[test]
fn regex() {
    run(&[
        case("%AUTHORIZED%", &[E401, "[SUCCESS 200] AUTHORIZED REQUEST"], &["authorized"]),
        case(
            "%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%",
            &["from 10.0.0.1 to", "255.255.255.255"],
            &["10.0.0", "version 1.2.3"],
        ),
        case("%[Ee]rror|[Ff]ail%", &["Error x", "error", "Failed", "fail"], &["ERROR", "FAIL"]),
        case("%^starting|^initializing|^shutting down%", &["shutting down now"], &["skipping initializing"]),
        case("  %ERROR%  ", &["ERROR"], &["error"]),
    ]);
}

const TRAIL: &str = r#"{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111", "arrayKey": ["value", "another value"], "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": null, "ThisFlag": true, "cluster.name": "c"}"#;
const TRAIL_OTHER: &str = r#"{"eventType": "CreateTrail", "sourceIPAddress": "123.123.0.7", "arrayKey": ["val", 3], "objectList": {"id": 2}, "SomeObject": 1, "SomeOtherObject": 2, "ThisFlag": false, "cluster.name": "d"}"#;

#[test]
fn json_values() {
    run(&[
        case("{ $.eventType = \"UpdateTrail\" }", &[TRAIL], &[TRAIL_OTHER, "UpdateTrail", "{\"eventType\": 1}"]),
        case("{ $.eventType = UpdateTrail }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.sourceIPAddress != 123.123.* }", &[TRAIL], &[TRAIL_OTHER, "{}"]),
        case("{ $.arrayKey[0] = \"value\" }", &[TRAIL], &[TRAIL_OTHER, r#"{"arrayKey": "value"}"#]),
        case("{ $.eventType = %Trail% }", &[TRAIL, TRAIL_OTHER], &[r#"{"eventType": "trail"}"#]),
        case("{ $.arrayKey[*] = %val.{2}% }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.['cluster.name'] = \"c\" }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.SomeObject IS NULL }", &[TRAIL], &[TRAIL_OTHER, "{}"]),
        case("{ $.SomeOtherObject NOT EXISTS }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.objectList[1].id = 2 }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.ThisFlag IS TRUE }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.ThisFlag IS FALSE }", &[TRAIL_OTHER], &[TRAIL]),
        case("{ $.foo = bar }", &[r#"{"foo": "bar"}"#], &[r#"{"foo": "baz"}"#]),
        case("{$.foo = baz }", &[r#"{"foo": "baz"}"#], &[r#"{"foo": "bar"}"#]),
        case("{$.foo = bar || $.foo = baz }", &[r#"{"foo": "bar"}"#, r#"{"foo": "baz"}"#], &[r#"{"foo": "bat"}"#]),
        case("{ $.latency = * }", &[r#"{"latency": 12}"#, r#"{"latency": "slow"}"#], &[r#"{"latency": {}}"#, "{}"]),
        case("{ $.eventType = *Trail }", &[TRAIL, TRAIL_OTHER], &[r#"{"eventType": "Trails"}"#]),
        case("{ $.eventType = Update* }", &[TRAIL], &[TRAIL_OTHER]),
        case("{ $.eventType = Up*Trail }", &[r#"{"eventType": "Up*Trail"}"#], &[TRAIL]),
    ]);
}

const USERS: &str = r#"{"user": {"id": 1, "email": "John.Stiles@example.com"}, "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}], "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]}"#;

#[test]
fn json_compound() {
    run(&[
        case("{ ($.user.id = 1) && ($.users[0].email = \"John.Doe@example.com\") }", &[USERS], &[]),
        case(
            "{ $.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\" && $.actions[2] = \"nonmatch\" }",
            &[USERS],
            &[],
        ),
        case(
            "{ ($.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\") && $.actions[2] = \"nonmatch\" }",
            &[],
            &[USERS],
        ),
        case("{ ($.user.id = 2 && $.users[0].email = \"nonmatch\") || $.actions[2] = \"GET\" }", &[], &[USERS]),
        // The earlier edition wrote the same with bare values.
        case(
            "{ $.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }",
            &[USERS],
            &[],
        ),
        case(
            "{ ($.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }",
            &[],
            &[USERS],
        ),
        case("{ $.coordinates[1][2] = 6 && $.actions[*] = DELETE }", &[USERS], &[]),
        // A selector reaching an array or object fails both = and !=.
        case("{ $.users = 1 }", &[], &[r#"{"users": [1, 2, 3]}"#]),
        case("{ $.users != 1 }", &[r#"{"users": 2}"#], &[r#"{"users": [1, 2, 3]}"#, r#"{"users": {"a": 1}}"#]),
    ]);
}

#[test]
fn json_numbers() {
    run(&[
        case("{ $.bandwidth > 75 }", &[r#"{"bandwidth": 76}"#, r#"{"bandwidth": 75.5}"#], &[r#"{"bandwidth": 75}"#]),
        case("{ $.latency < 50 }", &[r#"{"latency": -1}"#], &[r#"{"latency": 50}"#, r#"{"latency": "fast"}"#]),
        case("{ $.refreshRate >= 60 }", &[r#"{"refreshRate": 60}"#], &[r#"{"refreshRate": 59.99}"#]),
        case("{ $.responseTime <= 5 }", &[r#"{"responseTime": 5.0}"#], &[r#"{"responseTime": 5.01}"#]),
        case("{ $.errorCode = 400}", &[r#"{"errorCode": 400}"#, r#"{"errorCode": 4e2}"#], &[r#"{"errorCode": 401}"#]),
        case("{ $.errorCode != 500 }", &[r#"{"errorCode": 400}"#], &[r#"{"errorCode": 500}"#, "{}"]),
        case("{ $.number[0] = 1e+3 }", &[r#"{"number": [1000]}"#], &[r#"{"number": [100]}"#]),
        case("{ $.number[0] != 1e-3 }", &[r#"{"number": [1]}"#], &[r#"{"number": [0.001]}"#]),
        case("{ $.latency >= 500 }", &[r#"{"latency": 500}"#], &[r#"{"latency": 499}"#]),
        case("{ $.numbers[0] < 10e3 }", &[r#"{"numbers": [9999]}"#], &[r#"{"numbers": [10000]}"#]),
        case("{ $.numbers[0] < 10e-3 }", &[r#"{"numbers": [0.001]}"#], &[r#"{"numbers": [0.01]}"#]),
        case("{ $.processes[4].averageRuntime <= 55.5 }", &[r#"{"processes": [0,0,0,0,{"averageRuntime": 55}]}"#], &[]),
        case("{ $.latency > +1000 }", &[r#"{"latency": 1001}"#], &[r#"{"latency": 1000}"#]),
        case("{ $.id = 9007199254740993 }", &[r#"{"id": 9007199254740993}"#], &[r#"{"id": 9007199254740992}"#]),
    ]);
}

const ACCESS: &str = r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
const ACCESS_OK: &str = r#"127.0.0.2 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 200 1534"#;
const ACCESS_GONE: &str = r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /old.html HTTP/1.0" 410 99"#;
const ACCESS_IP: &str = r#"127.0.0.10 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;

#[test]
fn space_delimited() {
    run(&[
        case(
            r"[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
            &[ACCESS, ACCESS_GONE, ACCESS_IP],
            &[ACCESS_OK, "127.0.0.1 Prod frank"],
        ),
        case("[..., request =*.html*, status_code = 4*, bytes]", &[ACCESS, ACCESS_GONE], &[ACCESS_OK]),
        case(
            "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
            &[ACCESS, ACCESS_GONE],
            &[ACCESS_OK],
        ),
        case(
            "[ip, user, username, timestamp, request, status_code, bytes > 1000]",
            &[ACCESS, ACCESS_OK],
            &[ACCESS_GONE],
        ),
        case("[ip, user, username, timestamp, request, status_code = 200, bytes]", &[ACCESS_OK], &[ACCESS]),
        case("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", &[ACCESS], &[ACCESS_OK]),
        case("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", &[ACCESS], &[]),
        case(
            "[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]",
            &[ACCESS],
            &[ACCESS_GONE],
        ),
        case("[..., status_code, bytes]", &[ACCESS, "a b"], &["a"]),
        case("[ip, user, ..., status_code, bytes]", &[ACCESS, "a b c d"], &["a b c"]),
        case("[ip, user, ...]", &[ACCESS, "a b"], &["a"]),
        case(
            "[ip, user, username, timestamp, request, status_code, bytes]",
            &[ACCESS],
            &["a b c d e f", "a b c d e f g h"],
        ),
        case("[...]", &[ACCESS, "", "a"], &[]),
        case("[ a , b , ]", &["x y z"], &["x y"]),
    ]);
}

#[test]
fn space_delimited_words() {
    // The first edition's lines; a pattern without an ellipsis needs exactly as many fields.
    const L1: &str = "ERROR WARN message";
    const L2: &str = "ERROR message";
    const L3: &str = "WARN message";
    run(&[
        case("[w1=ERROR, w2]", &[L2], &[L1, L3]),
        case("[w1=ERROR || w1=WARN, w2]", &[L2, L3], &[L1]),
        case("[w1=ERROR || w1=WARNING, w2]", &[L2, "WARNING message"], &[L3]),
        case("[w1!=ERROR && w1!=WARNING, w2]", &["INFO message"], &[L2, "WARNING message", L1]),
        case("[w1=ERROR, ...]", &[L1, L2, "ERROR 09/25/2014 12:00:02 Failed to process request"], &[L3]),
    ]);
    const R1: &str = "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200";
    const R2: &str = "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310";
    const R3: &str = "WARNING 09/25/2014 12:00:02 Invalid user request";
    const R4: &str = "ERROR 09/25/2014 12:00:02 Failed to process request";
    run(&[
        case("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", &[R1], &[R2, R3, R4]),
        case(
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]",
            &[R2],
            &[R1, R3, R4],
        ),
        case("[level=ERROR || level=WARNING, ...]", &[R3, R4], &[R1, R2]),
        case("[..., method=POST, url, ms>1300]", &[R2], &[R1]),
    ]);
}

#[test]
fn extracted_values() {
    let p = FilterPattern::parse("{ $.user.id = 1 && $.actions[1] = PUT && $.users[*].id > 2 && $.none NOT EXISTS }")
        .unwrap();
    let want: BTreeMap<String, String> =
        [("$.user.id", "1"), ("$.actions[1]", "PUT"), ("$.users[*].id", "2")].map(|(k, v)| (k.into(), v.into())).into();
    assert_eq!(p.extract(USERS), Some(want));
    assert!(p.can_produce("$.user.id") && p.can_produce("$.actions[1]") && p.can_produce("$['user'].id"));
    assert!(!p.can_produce("$.user.email") && !p.can_produce("$size") && !p.can_produce("$.user."));

    let p = FilterPattern::parse("{ $.latency = * }").unwrap();
    let got = p.extract(r#"{"latency": 1.5e3, "x": 1}"#).unwrap();
    assert_eq!(got.get("$.latency").map(String::as_str), Some("1500"));
    let got = p.extract(r#"{"latency": "a\"b\u0041"}"#).unwrap();
    assert_eq!(got.get("$.latency").map(String::as_str), Some("a\"bA"));

    let p = FilterPattern::parse("[ip, ..., status=5*, size]").unwrap();
    let got = p.extract("1.2.3.4 x y 503 77").unwrap();
    let want: BTreeMap<String, String> =
        [("$ip", "1.2.3.4"), ("$2", "x"), ("$3", "y"), ("$status", "503"), ("$size", "77")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
    assert_eq!(got, want);

    let p = FilterPattern::parse("[a, ..., b=x, ..., c]").unwrap();
    let got = p.extract("1 2 x 3 x 4").unwrap();
    let want: BTreeMap<String, String> = [("$a", "1"), ("$2", "2"), ("$b", "x"), ("$4", "3"), ("$5", "x"), ("$c", "4")]
        .map(|(k, v)| (k.into(), v.into()))
        .into();
    assert_eq!(got, want);
    assert!(!p.matches("1 2 3 4") && p.matches("1 x 2") && !p.matches("x 2"));

    let p = FilterPattern::parse("ERROR").unwrap();
    assert_eq!(p.extract("ERROR x"), Some(BTreeMap::new()));
    assert_eq!(p.extract("x"), None);
}

#[test]
fn json_events_must_be_json() {
    let p = FilterPattern::parse("{ $.a NOT EXISTS }").unwrap();
    for m in ["", "not json", "\"a\"", "5", "null", "{", "{\"b\": 1} trailing", "{\"b\": 1,}", "[1, 2"] {
        assert!(!p.matches(m), "{m}");
    }
    assert!(p.matches("{\"b\": 1}") && p.matches("  [1, 2]\n") && p.matches("{}"));
    assert!(!p.matches("{\"a\": null}"));
}

#[test]
fn json_precheck_does_not_hide_escaped_text() {
    let p = FilterPattern::parse("{ $.level = \"ERROR/x\" && $.msg = *déjà* }").unwrap();
    assert!(p.matches(r#"{"level": "ERROR/x", "msg": "le déjà vu"}"#));
    assert!(p.matches(r#"{"le\u0076el": "\u0045RROR\/x", "msg": "le d\u00e9j\u00e0 vu"}"#));
    assert!(!p.matches(r#"{"level": "ERROR/y", "msg": "le déjà vu"}"#));
    let p = FilterPattern::parse("{ $.n = \"400\" }").unwrap();
    assert!(p.matches(r#"{"n": 4e2}"#) && p.matches(r#"{"n": "400"}"#));
    let p = FilterPattern::parse("{ $.flag = tr* }").unwrap();
    assert!(p.matches(r#"{"flag": true}"#));
}

#[test]
fn shareable() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    assert_traits::<FilterPattern>();
    assert_traits::<logbook_filter::PatternError>();
    let p: FilterPattern = "ERROR".parse().unwrap();
    assert!(p.clone().matches("ERROR") && !p.is_match_all());
    assert!(FilterPattern::parse(" \" \" ").unwrap().is_match_all());
    assert!(!FilterPattern::parse("[]").unwrap().is_match_all());
}
