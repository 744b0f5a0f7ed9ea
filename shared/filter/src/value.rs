//! Comparisons shared by JSON and space-delimited conditions: `=`/`!=` on text with `*` at either
//! end, numeric ordering, and `%regex%`.

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }

    pub(crate) fn is_ordering(self) -> bool {
        !matches!(self, Op::Eq | Op::Ne)
    }

    fn accepts(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Gt => ord == Ordering::Greater,
            Op::Le => ord != Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

/// A number as AWS writes them: optional sign, digits with an optional fraction, optional
/// exponent. Integers keep an exact value so that large ids compare exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Number {
    float: f64,
    int: Option<i128>,
}

impl Number {
    /// Strict: the whole of `s` must be a number (no `inf`, `NaN`, hex, or surrounding spaces,
    /// which `f64::from_str` would otherwise let through).
    pub(crate) fn parse(s: &str) -> Option<Number> {
        let b = s.as_bytes();
        let mut i = 0;
        if matches!(b.first(), Some(b'+' | b'-')) {
            i = 1;
        }
        let int_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_digits = i - int_start;
        let mut frac_digits = 0;
        let mut integral = true;
        if b.get(i) == Some(&b'.') {
            integral = false;
            i += 1;
            let f = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            frac_digits = i - f;
        }
        if int_digits + frac_digits == 0 {
            return None;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integral = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let e = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == e {
                return None;
            }
        }
        if i != b.len() {
            return None;
        }
        let float: f64 = s.parse().ok()?;
        if !float.is_finite() {
            return None;
        }
        let int = if integral { s.parse::<i128>().ok() } else { None };
        Some(Number { float, int })
    }

    pub(crate) fn from_i64(v: i64) -> Number {
        Number { float: v as f64, int: Some(v.into()) }
    }

    pub(crate) fn from_u64(v: u64) -> Number {
        Number { float: v as f64, int: Some(v.into()) }
    }

    pub(crate) fn from_f64(v: f64) -> Number {
        Number { float: v, int: None }
    }

    fn cmp(self, other: Number) -> Ordering {
        match (self.int, other.int) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Both finite, so `partial_cmp` always answers.
            _ => self.float.partial_cmp(&other.float).unwrap_or(Ordering::Equal),
        }
    }
}

/// `=`/`!=` text: exact, or with `*` as a wildcard at the start and/or the end. A `*` in the
/// middle is literal (AWS: "Ev*ent will only match the actual string Ev*ent").
#[derive(Clone, Debug)]
pub(crate) enum TextPat {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<str>),
}

impl TextPat {
    pub(crate) fn new(s: String) -> TextPat {
        if !s.is_empty() && s.bytes().all(|b| b == b'*') {
            return TextPat::Any;
        }
        let lead = s.starts_with('*');
        let trail = s.ends_with('*');
        let n = s.len();
        match (lead, trail) {
            (true, true) => TextPat::Contains(s[1..n - 1].into()),
            (true, false) => TextPat::Suffix(s[1..].into()),
            (false, true) => TextPat::Prefix(s[..n - 1].into()),
            (false, false) => TextPat::Exact(s.into_boxed_str()),
        }
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            TextPat::Any => true,
            TextPat::Exact(e) => s == &**e,
            TextPat::Prefix(p) => s.starts_with(&**p),
            TextPat::Suffix(p) => s.ends_with(&**p),
            TextPat::Contains(p) => memchr::memmem::find(s.as_bytes(), p.as_bytes()).is_some(),
        }
    }

    /// Text every matching value contains, for pre-checks.
    pub(crate) fn required_text(&self) -> Option<&str> {
        match self {
            TextPat::Any => None,
            TextPat::Exact(s) | TextPat::Prefix(s) | TextPat::Suffix(s) | TextPat::Contains(s) => {
                (!s.is_empty()).then_some(&**s)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Rhs {
    Text(TextPat),
    /// An unquoted number, with its text for comparisons against non-numeric values.
    Number(Number, Box<str>),
    Regex(regex::bytes::Regex),
}

/// `op rhs`, the condition of a JSON selector or a space-delimited field.
#[derive(Clone, Debug)]
pub(crate) struct Cmp {
    pub(crate) op: Op,
    pub(crate) rhs: Rhs,
}

impl Cmp {
    /// Against text: a space-delimited field, a JSON string or a JSON boolean's text.
    pub(crate) fn test_text(&self, s: &str) -> bool {
        match &self.rhs {
            Rhs::Text(p) => self.eq_result(p.matches(s)),
            Rhs::Regex(r) => self.eq_result(r.is_match(s.as_bytes())),
            Rhs::Number(n, lit) => match Number::parse(s) {
                Some(v) => self.op.accepts(v.cmp(*n)),
                // Ordering needs a number on both sides; (in)equality falls back to the text.
                None => !self.op.is_ordering() && self.eq_result(s == &**lit),
            },
        }
    }

    /// Against a JSON number; `text` renders it for text and regex comparisons.
    pub(crate) fn test_number(&self, v: Number, text: impl FnOnce() -> String) -> bool {
        match &self.rhs {
            Rhs::Number(n, _) => self.op.accepts(v.cmp(*n)),
            Rhs::Text(TextPat::Any) => self.eq_result(true),
            Rhs::Text(p) => self.eq_result(p.matches(&text())),
            Rhs::Regex(r) => self.eq_result(r.is_match(text().as_bytes())),
        }
    }

    fn eq_result(&self, equal: bool) -> bool {
        match self.op {
            Op::Eq => equal,
            Op::Ne => !equal,
            // Ordering against text or a regex is refused at parse time.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in ["0", "-1", "+1000", "55.5", "10e3", "10e-3", "1e+3", ".5", "5.", "1E9"] {
            assert!(Number::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "-", "+", ".", "e3", "1e", "1e+", "inf", "NaN", "0x10", " 1", "1 ", "1,5", "--1", "1.2.3"] {
            assert!(Number::parse(bad).is_none(), "{bad}");
        }
        let big = Number::parse("9007199254740993").unwrap();
        let near = Number::parse("9007199254740992").unwrap();
        assert_eq!(big.cmp(near), Ordering::Greater);
        assert_eq!(Number::parse("400").unwrap().cmp(Number::from_f64(400.0)), Ordering::Equal);
    }

    #[test]
    fn wildcards() {
        let m = |p: &str, s: &str| TextPat::new(p.to_string()).matches(s);
        assert!(m("*Event", "PutEvent"));
        assert!(m("Event*", "EventId"));
        assert!(!m("Ev*ent", "Event"));
        assert!(m("Ev*ent", "Ev*ent"));
        assert!(m("*html*", "GET /index.html HTTP/1.0"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
    }
}
