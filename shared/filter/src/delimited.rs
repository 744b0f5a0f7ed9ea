//! Space-delimited patterns: `[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]`.

use crate::PatternError;
use crate::parser::{Expr, Parser};
use crate::value::Cmp;
use std::collections::BTreeMap;
use std::ops::Range;

#[derive(Clone, Debug)]
enum Field {
    /// `...`: any number of fields, extracted by position.
    Ellipsis,
    /// A named field (`$name`), or an empty one between commas (`$N`), with its conditions.
    Slot { name: Option<Box<str>>, cond: Option<Expr<Cmp>> },
}

#[derive(Clone, Debug)]
pub(crate) struct Delimited {
    fields: Vec<Field>,
    /// The runs of non-ellipsis fields, in `fields`: one more than there are ellipses.
    segments: Vec<Range<usize>>,
    /// Fields a message needs at least (exactly, without an ellipsis).
    fixed: usize,
}

/// Suffix lengths up to this are matched in one pass with a ring buffer on the stack.
const RING: usize = 16;

/// Parses the whole pattern, at `[`.
pub(crate) fn parse(p: &mut Parser) -> Result<Delimited, PatternError> {
    let open = p.pos;
    p.pos += 1;
    let mut fields = Vec::new();
    p.skip_ws();
    if p.eat("]") {
        // `[]`: AWS extracts every field by position, as `[...]` would.
        fields.push(Field::Ellipsis);
    } else {
        loop {
            fields.push(field(p, &fields)?);
            p.skip_ws();
            match p.peek() {
                Some(',') => p.pos += 1,
                Some(']') => {
                    p.pos += 1;
                    break;
                }
                None => return Err(PatternError::at(open, "missing closing ']' for the '[' opened")),
                Some(_) => {
                    return Err(PatternError::at(p.pos, format!("{}: expected ',' or ']'", p.describe_next())));
                }
            }
        }
    }
    p.expect_end(']')?;
    let mut segments = Vec::new();
    let mut start = 0;
    for (i, f) in fields.iter().enumerate() {
        if matches!(f, Field::Ellipsis) {
            segments.push(start..i);
            start = i + 1;
        }
    }
    segments.push(start..fields.len());
    let fixed = fields.iter().filter(|f| !matches!(f, Field::Ellipsis)).count();
    Ok(Delimited { fields, segments, fixed })
}

/// One field, up to (not including) the `,` or `]` after it.
fn field(p: &mut Parser, before: &[Field]) -> Result<Field, PatternError> {
    p.skip_ws();
    let start = p.pos;
    match p.peek() {
        // `[a,,b]` and the trailing comma of `[..., status_code=4*,]`: an unnamed field, which
        // the spec's TestMetricFilter example extracts as `$7`.
        Some(',' | ']') | None => return Ok(Field::Slot { name: None, cond: None }),
        Some('.') => {
            if p.eat("...") && p.peek().is_none_or(|c| c != '.') {
                return Ok(Field::Ellipsis);
            }
            return Err(PatternError::at(start, "expected '...' or a field name"));
        }
        _ => {}
    }
    let expr = p.expr(&mut |p: &mut Parser| {
        p.skip_ws();
        let at = p.pos;
        let mut name = String::new();
        while let Some(c) = p.peek().filter(|&c| c.is_alphanumeric() || c == '_') {
            name.push(c);
            p.pos += 1;
        }
        if name.is_empty() {
            return Err(PatternError::at(at, format!("{}: expected a field name", p.describe_next())));
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(PatternError::at(at, format!("field name '{name}' must not start with a digit")));
        }
        p.skip_ws();
        let op_pos = p.pos;
        let cmp = match p.op()? {
            Some(op) => Some(p.rhs(op, op_pos, &[',', ']', ')'])?),
            None => None,
        };
        Ok((name, at, cmp))
    })?;
    let (name, cond) = match expr {
        Expr::Leaf((name, _, None)) => (name, None),
        expr => {
            let leaves = expr.leaves();
            let (first, _, _) = leaves[0];
            let first = first.clone();
            for (name, at, cmp) in leaves {
                if cmp.is_none() {
                    return Err(PatternError::at(*at, format!("'{name}' needs an operator inside a condition")));
                }
                if *name != first {
                    return Err(PatternError::at(
                        *at,
                        format!("a field's conditions must all name that field ('{name}' in field '{first}')"),
                    ));
                }
            }
            let cond = expr.try_map(&mut |(_, _, cmp)| cmp.ok_or(()));
            let cond =
                cond.map_err(|()| PatternError::at(start, format!("'{first}' needs an operator inside a condition")))?;
            (first, Some(cond))
        }
    };
    let duplicate = before.iter().any(|f| matches!(f, Field::Slot { name: Some(n), .. } if **n == *name));
    if duplicate {
        return Err(PatternError::at(start, format!("duplicate field name '{name}'")));
    }
    Ok(Field::Slot { name: Some(name.into()), cond })
}

fn field_ok(f: &Field, value: &str) -> bool {
    match f {
        Field::Slot { cond: Some(c), .. } => c.eval(&mut |cmp: &Cmp| cmp.test_text(value)),
        _ => true,
    }
}

impl Delimited {
    pub(crate) fn matches(&self, message: &str) -> bool {
        match self.segments.len() {
            1 => {
                let mut n = 0;
                for tok in Tokens::new(message) {
                    match self.fields.get(n) {
                        Some(f) if field_ok(f, tok) => n += 1,
                        _ => return false,
                    }
                }
                n == self.fields.len()
            }
            2 if self.segments[1].len() <= RING => self.one_ellipsis(message),
            _ => self.place(&Tokens::new(message).collect::<Vec<_>>()).is_some(),
        }
    }

    /// One pass: the prefix is checked as it goes by, the last tokens are kept for the suffix.
    fn one_ellipsis(&self, message: &str) -> bool {
        let prefix = &self.fields[self.segments[0].clone()];
        let suffix = &self.fields[self.segments[1].clone()];
        let s = suffix.len();
        let mut ring = [""; RING];
        let mut n = 0;
        for tok in Tokens::new(message) {
            if let Some(f) = prefix.get(n)
                && !field_ok(f, tok)
            {
                return false;
            }
            if s > 0 {
                ring[n % s] = tok;
            }
            n += 1;
        }
        if n < self.fixed {
            return false;
        }
        suffix.iter().enumerate().all(|(k, f)| field_ok(f, ring[(n - s + k) % s]))
    }

    /// Where each segment starts in `toks`, or `None` when the message does not match. The
    /// first segment is anchored at the start, the last at the end; those in between take the
    /// leftmost place that fits, which finds a match whenever one exists.
    fn place(&self, toks: &[&str]) -> Option<Vec<usize>> {
        let n = toks.len();
        let seg_ok = |seg: &Range<usize>, at: usize| {
            self.fields[seg.clone()].iter().enumerate().all(|(k, f)| field_ok(f, toks[at + k]))
        };
        let segs = &self.segments;
        if segs.len() == 1 {
            return (n == self.fixed && seg_ok(&segs[0], 0)).then(|| vec![0]);
        }
        let last = segs.last()?;
        if n < self.fixed || !seg_ok(&segs[0], 0) || !seg_ok(last, n - last.len()) {
            return None;
        }
        let mut starts = vec![0];
        let mut pos = segs[0].len();
        let end = n - last.len();
        for seg in &segs[1..segs.len() - 1] {
            let at = (pos..=end.checked_sub(seg.len())?).find(|&j| seg_ok(seg, j))?;
            starts.push(at);
            pos = at + seg.len();
        }
        starts.push(end);
        Some(starts)
    }

    /// The message's fields placed against the pattern (`None` if it does not match), without
    /// copying any: a metric filter reads one or two of them per event.
    pub(crate) fn place_fields<'p, 'm>(&'p self, message: &'m str) -> Option<Placed<'p, 'm>> {
        let toks: Vec<&str> = Tokens::new(message).collect();
        let starts = self.place(&toks)?;
        let mut names = vec![None; toks.len()];
        for (seg, start) in self.segments.iter().zip(starts) {
            for (k, f) in self.fields[seg.clone()].iter().enumerate() {
                if let Field::Slot { name: Some(name), .. } = f {
                    names[start + k] = Some(&**name);
                }
            }
        }
        Some(Placed { toks, names })
    }

    pub(crate) fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        let placed = self.place_fields(message)?;
        let mut out = BTreeMap::new();
        for (i, (tok, name)) in placed.toks.iter().zip(&placed.names).enumerate() {
            let key = match name {
                Some(name) => format!("${name}"),
                // Unnamed fields and the ones an ellipsis absorbed: by 1-based position.
                None => format!("${}", i + 1),
            };
            out.insert(key, tok.to_string());
        }
        Some(out)
    }

    pub(crate) fn can_produce(&self, value: &str) -> bool {
        let Some(rest) = value.strip_prefix('$') else { return false };
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let Ok(n) = rest.parse::<usize>() else { return false };
            if n == 0 || rest.starts_with('0') {
                return false;
            }
            let head = &self.fields[self.segments[0].clone()];
            return match head.get(n - 1) {
                // A fixed position: only an unnamed field there is reported as `$n`.
                Some(f) => matches!(f, Field::Slot { name: None, .. }),
                // Past the head: reachable only through an ellipsis.
                None => self.segments.len() > 1,
            };
        }
        self.fields.iter().any(|f| matches!(f, Field::Slot { name: Some(n), .. } if **n == *rest))
    }
}

/// The fields of a message: runs of non-whitespace, except that a field starting with `"` runs
/// to the closing quote (`\"` does not close it) and one starting with `[` to the matching `]`;
/// those come without their delimiters. An unclosed quote or bracket is an ordinary character.
pub(crate) struct Tokens<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Tokens { s, i: 0 }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0B' | b'\x0C')
}

fn close_quote(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += memchr::memchr2(b'"', b'\\', &b[i..])?;
        if b[i] == b'"' {
            return Some(i);
        }
        i += 2;
        if i >= b.len() {
            return None;
        }
    }
}

fn close_bracket(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 1usize;
    loop {
        i += memchr::memchr2(b'[', b']', &b[i..])?;
        if b[i] == b'[' {
            depth += 1;
        } else {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let mut i = self.i;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            self.i = i;
            return None;
        }
        let close = match b[i] {
            b'"' => close_quote(b, i + 1),
            b'[' => close_bracket(b, i + 1),
            _ => None,
        };
        // Slicing at ASCII delimiters always lands on char boundaries.
        if let Some(end) = close {
            self.i = end + 1;
            return Some(&self.s[i + 1..end]);
        }
        let start = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        self.i = i;
        Some(&self.s[start..i])
    }
}

#[cfg(test)]
mod tests {
    use super::Tokens;

    #[test]
    fn tokens() {
        fn t(s: &str) -> Vec<&str> {
            Tokens::new(s).collect()
        }
        assert_eq!(
            t("127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 1534"),
            ["127.0.0.1", "-", "frank", "10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0", "200", "1534"]
        );
        assert_eq!(t("  a\tb \n c  "), ["a", "b", "c"]);
        assert_eq!(t(""), Vec::<&str>::new());
        assert_eq!(t("\"a \\\" b\" c"), ["a \\\" b", "c"]);
        assert_eq!(t("\"open quote"), ["\"open", "quote"]);
        assert_eq!(t("[a [b] c] d"), ["a [b] c", "d"]);
        assert_eq!(t("[open bracket"), ["[open", "bracket"]);
        assert_eq!(t("\"\" []"), ["", ""]);
        assert_eq!(t("\"x\"y"), ["x", "y"]);
        assert_eq!(t("a\"b c\""), ["a\"b", "c\""]);
        assert_eq!(t("\"\\"), ["\"\\"]);
    }
}

/// A matching message's fields: each token, and the pattern's name for it (if any).
#[derive(Debug)]
pub(crate) struct Placed<'p, 'm> {
    toks: Vec<&'m str>,
    names: Vec<Option<&'p str>>,
}

impl<'m> Placed<'_, 'm> {
    /// `$name` (names are unique in a pattern) or `$N` (an unnamed field
    /// or one an ellipsis absorbed, 1-based), as [`Delimited::extract`] reports them.
    pub(crate) fn get(&self, reference: &str) -> Option<&'m str> {
        let key = reference.trim().strip_prefix('$')?;
        if key.starts_with(|c: char| c.is_ascii_digit()) {
            let n: usize = key.parse().ok()?;
            if n == 0 || key.starts_with('0') {
                return None;
            }
            return match self.names.get(n - 1)? {
                None => Some(self.toks[n - 1]),
                Some(_) => None,
            };
        }
        self.names.iter().rposition(|x| *x == Some(key)).map(|i| self.toks[i])
    }
}
