//! Unstructured patterns: `ERROR`, `"exact phrase"`, `-excluded`, `?optional`.

use crate::PatternError;
use crate::parser::Parser;
use memchr::memmem::Finder;

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant, reason = "the single-term arm is the hot one: no extra indirection")]
pub(crate) enum Terms {
    /// The common case gets its own arm: one SIMD substring search, nothing else.
    One(Finder<'static>),
    /// Only `?term`s: any of them.
    AnyOf(Vec<Finder<'static>>),
    /// Included and excluded terms (`?term`s are ignored next to them, as AWS documents).
    AllOf { include: Vec<Finder<'static>>, exclude: Vec<Finder<'static>> },
}

impl Terms {
    pub(crate) fn matches(&self, message: &str) -> bool {
        let hay = message.as_bytes();
        match self {
            Terms::One(f) => f.find(hay).is_some(),
            Terms::AnyOf(fs) => fs.iter().any(|f| f.find(hay).is_some()),
            Terms::AllOf { include, exclude } => {
                include.iter().all(|f| f.find(hay).is_some()) && !exclude.iter().any(|f| f.find(hay).is_some())
            }
        }
    }
}

#[derive(PartialEq)]
enum Role {
    Include,
    Exclude,
    Optional,
}

/// Parses the whole (trimmed, non-empty) pattern. `None`: nothing to test, match everything
/// (`" "` is AWS's documented way of writing that).
pub(crate) fn parse(p: &mut Parser) -> Result<Option<Terms>, PatternError> {
    let (mut include, mut exclude, mut optional) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        p.skip_ws();
        let Some(c) = p.peek() else { break };
        let start = p.pos;
        let role = match c {
            '-' => Role::Exclude,
            '?' => Role::Optional,
            _ => Role::Include,
        };
        if role != Role::Include {
            p.pos += 1;
            // `"ERROR" - "Exiting"`: AWS's older guide puts a space after the minus.
            p.skip_ws();
            if p.at_end() {
                return Err(PatternError::at(start, format!("'{c}' must be followed by a term")));
            }
        }
        let term = if p.peek() == Some('"') {
            let s = p.quoted()?;
            if p.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err(PatternError::at(p.pos, "a quoted phrase must be followed by a space or the end"));
            }
            if s.trim().is_empty() {
                continue;
            }
            s
        } else {
            bare(p)?
        };
        match role {
            Role::Include => include.push(term),
            Role::Exclude => exclude.push(term),
            Role::Optional => optional.push(term),
        }
    }
    let finders = |mut v: Vec<String>| {
        v.sort();
        v.dedup();
        v.iter().map(|t| Finder::new(t.as_bytes()).into_owned()).collect::<Vec<_>>()
    };
    Ok(Some(if include.is_empty() && exclude.is_empty() {
        if optional.is_empty() {
            return Ok(None);
        }
        Terms::AnyOf(finders(optional))
    } else if include.len() == 1 && exclude.is_empty() {
        Terms::One(Finder::new(include[0].as_bytes()).into_owned())
    } else {
        Terms::AllOf { include: finders(include), exclude: finders(exclude) }
    }))
}

/// An unquoted term: everything up to the next whitespace, taken literally (AWS asks for quotes
/// around non-alphanumeric terms, but a word like `user:` or `/health` is unambiguous).
fn bare(p: &mut Parser) -> Result<String, PatternError> {
    let start = p.pos;
    let mut s = String::new();
    while let Some(c) = p.peek() {
        if c.is_whitespace() {
            break;
        }
        if c == '"' {
            return Err(PatternError::at(p.pos, "unexpected '\"' inside a term (quote the whole phrase)"));
        }
        s.push(c);
        p.pos += 1;
    }
    if s.len() >= 2 && s.starts_with('%') && s.ends_with('%') {
        return Err(PatternError::at(
            start,
            "a regular expression (%...%) must be the whole pattern; quote the term to match it literally",
        ));
    }
    Ok(s)
}
