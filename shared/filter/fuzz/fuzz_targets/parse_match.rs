//! Any pattern, any events: no panic, and `extract` agrees with `matches`.
//!
//! Input: the pattern, then events, separated by NUL bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbook_filter::FilterPattern;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let pattern = parts.next().unwrap_or_default();
    let Ok(p) = FilterPattern::parse(pattern) else { return };
    for message in parts {
        let matched = p.matches(message);
        assert_eq!(matched, p.extract(message).is_some(), "{pattern:?} on {message:?}");
    }
    for value in ["$1", "$3", "$.a", "$a", "$.a[0]", ""] {
        let _ = p.can_produce(value);
    }
    let _ = p.is_match_all();
});
