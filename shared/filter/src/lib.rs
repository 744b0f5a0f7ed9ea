//! CloudWatch Logs filter patterns, as metric filters, subscription filters, `FilterLogEvents`,
//! `TestMetricFilter` and Live Tail use them.
//!
//! A pattern is parsed once and then run against every event of a stream, so everything that
//! does not depend on the event is done in [`FilterPattern::parse`]: regexes are compiled there,
//! substring searchers built there, JSON selectors merged into one trie there. Parsing goes
//! through a typed syntax tree, never through string re-interpretation at match time, which is
//! also what lets every malformed pattern be refused with a position instead of silently
//! matching everything (or nothing) in production.
//!
//! Matching is allocation-free for term, regex and space-delimited patterns. JSON events are
//! walked with a `serde` seed along the pattern's selectors rather than built into a
//! `serde_json::Value`, and a conservative text pre-check (literals every match must contain)
//! rejects most non-matching events before any parsing; it stands down whenever the event holds
//! a backslash, because JSON escapes could hide the literal.
//!
//! AWS's documentation is the reference. Where it is silent the crate follows the spec's
//! `TestMetricFilter` examples, then the most literal reading of the docs:
//! - `?term`s next to plain or `-` terms are ignored (documented); a whitespace-only `" "`
//!   phrase is no term at all, so `" "` matches everything (documented);
//! - unquoted terms run to the next whitespace and are literal, punctuation included; a `"`
//!   inside one is an error rather than a guess;
//! - space-delimited patterns need exactly as many fields as the message has, unless an
//!   ellipsis is present; `[]` behaves as `[...]`; an empty field (`[a,,b]`, the trailing comma
//!   of `[..., status_code=4*,]`) is an unnamed field, reported as `$N` like ellipsis fields;
//! - regexes use AWS's subset, translated construct by construct, with ASCII `\d \w \s`;
//! - JSON `=`/`!=`/ordering see strings, numbers and booleans; null, objects, arrays and missing
//!   values fail every comparison, including `!=`; wildcards match if any selected value does.

mod awsregex;
mod delimited;
mod error;
mod json;
mod parser;
mod terms;
mod value;

pub use error::PatternError;
pub use parser::MAX_REGEXES;

use std::collections::BTreeMap;

/// The longest pattern accepted, in characters (the API's `filterPattern` limit).
pub const MAX_PATTERN_CHARS: usize = 1024;

/// A compiled filter pattern. Cheap to share across threads; parse once, match many times.
#[derive(Clone, Debug)]
pub struct FilterPattern {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    All,
    Terms(Box<terms::Terms>),
    Regex(regex::bytes::Regex),
    Json(Box<json::JsonPattern>),
    Delimited(delimited::Delimited),
}

impl FilterPattern {
    /// Compiles `pattern`. Empty and all-whitespace patterns (and `""`, `" "`) match everything.
    pub fn parse(pattern: &str) -> Result<FilterPattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        if chars.len() > MAX_PATTERN_CHARS {
            return Err(PatternError::general(format!(
                "the pattern is {} characters long; at most {MAX_PATTERN_CHARS} are allowed",
                chars.len()
            )));
        }
        let mut p = parser::Parser::new(&chars);
        p.skip_ws();
        let kind = match p.peek() {
            None => Kind::All,
            Some('{') => Kind::Json(Box::new(json::parse(&mut p)?)),
            Some('[') => Kind::Delimited(delimited::parse(&mut p)?),
            Some('%') => {
                let re = p.regex()?;
                p.skip_ws();
                if !p.at_end() {
                    return Err(PatternError::at(
                        p.pos,
                        "unexpected text after the regular expression (a %regex% must be the whole pattern)",
                    ));
                }
                Kind::Regex(re)
            }
            Some(_) => terms::parse(&mut p)?.map_or(Kind::All, |t| Kind::Terms(Box::new(t))),
        };
        Ok(FilterPattern { kind })
    }

    /// Whether the event `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        match &self.kind {
            Kind::All => true,
            Kind::Terms(t) => t.matches(message),
            Kind::Regex(r) => r.is_match(message.as_bytes()),
            Kind::Json(j) => j.matches(message),
            Kind::Delimited(d) => d.matches(message),
        }
    }

    /// `None` when `message` does not match; otherwise its fields, for a metric filter's value
    /// and dimensions to name (see [`Fields::get`]).
    pub fn fields<'p, 'm>(&'p self, message: &'m str) -> Option<Fields<'p, 'm>> {
        let found = match &self.kind {
            Kind::Delimited(d) => Found::Placed(d.place_fields(message)?),
            _ => Found::Extracted(self.extract(message)?),
        };
        Some(Fields { found, message, json: self.is_json() })
    }

    /// `None` when `message` does not match; otherwise the values `TestMetricFilter` reports:
    ///
    /// - space-delimited: every field of the message, as `$name` for named fields and `$N`
    ///   (1-based position) for unnamed ones and those an ellipsis absorbed, quotes and brackets
    ///   stripped;
    /// - JSON: each selector the pattern uses (in canonical spelling, e.g. `$.a.b[0]`) that
    ///   reaches a string, number or boolean, with that value as text (a wildcard selector
    ///   reports the first such value);
    /// - terms, regex, match-all: an empty map.
    pub fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        match &self.kind {
            Kind::Json(j) => j.extract(message),
            Kind::Delimited(d) => d.extract(message),
            _ => self.matches(message).then(BTreeMap::new),
        }
    }

    /// Whether `value` (a metric transformation's `metricValue` such as `$.latency`, `$size` or
    /// `$3`) names something [`extract`](Self::extract) can report for this pattern: a selector
    /// the JSON pattern uses; a named field, or a position that an unnamed field or an ellipsis
    /// can occupy, of a space-delimited pattern. Literal numbers are not references: `false`.
    pub fn can_produce(&self, value: &str) -> bool {
        match &self.kind {
            Kind::Json(j) => j.can_produce(value),
            Kind::Delimited(d) => d.can_produce(value.trim()),
            _ => false,
        }
    }

    /// True for a space-delimited pattern (`[ … ]`).
    pub fn is_delimited(&self) -> bool {
        matches!(self.kind, Kind::Delimited(_))
    }

    /// True for a JSON pattern (`{ … }`).
    pub fn is_json(&self) -> bool {
        matches!(self.kind, Kind::Json(_))
    }

    /// True for the pattern that matches every event (empty, whitespace, `""`, `" "`).
    pub fn is_match_all(&self) -> bool {
        matches!(self.kind, Kind::All)
    }
}

impl std::str::FromStr for FilterPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FilterPattern::parse(s)
    }
}

/// The fields of an event a pattern matched.
#[derive(Debug)]
pub struct Fields<'p, 'm> {
    found: Found<'p, 'm>,
    message: &'m str,
    json: bool,
}

#[derive(Debug)]
enum Found<'p, 'm> {
    Extracted(BTreeMap<String, String>),
    Placed(delimited::Placed<'p, 'm>),
}

impl Fields<'_, '_> {
    /// The text `reference` names, `None` when the event has no such field:
    /// - `$name`, `$N`: a space-delimited pattern's named field, or the field at that 1-based
    ///   position (quotes and brackets stripped);
    /// - `$.path` (any spelling of a selector): for a JSON pattern, the value the pattern read
    ///   there, or else the event's value at that path, which the pattern need not mention;
    ///   strings, numbers and booleans only.
    pub fn get(&self, reference: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        let r = reference.trim();
        let extracted = match &self.found {
            Found::Placed(p) => return p.get(r).map(Cow::Borrowed),
            Found::Extracted(map) => map,
        };
        if let Some(v) = extracted.get(r) {
            return Some(Cow::Borrowed(v));
        }
        if !self.json {
            return None;
        }
        let canonical = json::canonical_reference(r)?;
        if let Some(v) = extracted.get(&canonical) {
            return Some(Cow::Borrowed(v));
        }
        json::lookup(self.message, r).map(Cow::Owned)
    }
}
