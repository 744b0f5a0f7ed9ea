//! AWS's regex dialect, checked and translated to the `regex` crate.
//!
//! AWS accepts a small subset: ASCII letters and digits, the symbols `: _ # = @ / ; , -` (and
//! space, which its own examples use), the operators `^ $ ? [ ] { } | \ * + .`, the escapes
//! `\d \D \s \S \w \W \xhh`, and no parentheses. Rather than hand the text to `regex` and hope
//! the two dialects agree, every construct is re-emitted explicitly: literals as `\xHH`, class
//! members one by one (so `regex`'s own class syntax — `&&`, `--`, `~~`, nested `[...]`,
//! `[:alpha:]` — can never be triggered), and `{m, n}` normalised. The result is compiled
//! byte-oriented with Unicode off, so `\d`, `\w` and `\s` are the ASCII classes AWS documents.

use crate::PatternError;
use std::fmt::Write;

/// Repetition counts above this are refused (they only make huge automata).
const MAX_REPEAT: u32 = 1000;

fn is_literal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' | ' ')
}

fn is_operator(c: char) -> bool {
    matches!(c, '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.')
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{:02X}", c as u32);
    }
}

/// `body` is the text between the `%`s; `open` the position of the opening `%`.
pub(crate) fn compile(body: &[char], open: usize) -> Result<regex::bytes::Regex, PatternError> {
    if body.is_empty() {
        return Err(PatternError::at(open, "empty regular expression"));
    }
    let translated = Translator { body, base: open + 1, i: 0, out: String::new() }.run()?;
    regex::bytes::RegexBuilder::new(&translated)
        .unicode(false)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 21)
        .build()
        .map_err(|e| {
            let why = match e {
                regex::Error::CompiledTooBig(_) => "too complex".to_string(),
                other => other.to_string().lines().last().unwrap_or_default().trim().to_string(),
            };
            PatternError::starting_at(open, format!("invalid regular expression ({why})"))
        })
}

struct Translator<'a> {
    body: &'a [char],
    /// Pattern position of `body[0]`.
    base: usize,
    i: usize,
    out: String,
}

/// What the previous token leaves room for.
#[derive(PartialEq)]
enum Prev {
    /// Start, `|`, `^`, `$`: nothing to repeat.
    Nothing,
    /// An atom: a quantifier may follow.
    Atom,
    /// A quantifier: only a lazy `?` may follow.
    Quantifier,
}

impl Translator<'_> {
    fn err(&self, at: usize, what: impl std::fmt::Display) -> PatternError {
        PatternError::at(self.base + at, format!("{what} in regular expression"))
    }

    fn check_char(&self, at: usize) -> Result<char, PatternError> {
        let c = self.body[at];
        if !c.is_ascii() {
            return Err(self.err(at, format!("unsupported multi-byte character '{c}'")));
        }
        if c == '(' || c == ')' {
            return Err(self.err(at, format!("unsupported '{c}' (parentheses are not supported)")));
        }
        if !is_literal(c) && !is_operator(c) {
            return Err(self.err(at, format!("unsupported character '{c}'")));
        }
        Ok(c)
    }

    fn run(mut self) -> Result<String, PatternError> {
        let mut prev = Prev::Nothing;
        while self.i < self.body.len() {
            let at = self.i;
            let c = self.check_char(at)?;
            self.i += 1;
            prev = match c {
                '^' | '$' | '|' => {
                    self.out.push(c);
                    Prev::Nothing
                }
                '.' => {
                    self.out.push('.');
                    Prev::Atom
                }
                '*' | '+' | '?' => match prev {
                    Prev::Atom => {
                        self.out.push(c);
                        Prev::Quantifier
                    }
                    Prev::Quantifier if c == '?' => {
                        self.out.push('?');
                        Prev::Nothing
                    }
                    _ => return Err(self.err(at, format!("'{c}' with nothing to repeat"))),
                },
                '{' => {
                    if prev != Prev::Atom {
                        return Err(self.err(at, "'{' with nothing to repeat"));
                    }
                    self.repetition(at)?;
                    Prev::Quantifier
                }
                '[' => {
                    self.class(at)?;
                    Prev::Atom
                }
                '\\' => {
                    self.escape(at)?;
                    Prev::Atom
                }
                // A lone `]` or `}` is literal, as in most dialects.
                _ => {
                    push_literal(&mut self.out, c);
                    Prev::Atom
                }
            };
        }
        Ok(self.out)
    }

    /// `{m}`, `{m,}`, `{,n}`, `{m,n}`, with spaces allowed around the numbers (AWS writes `{m, n}`).
    fn repetition(&mut self, open: usize) -> Result<(), PatternError> {
        let bad = |t: &Self| t.err(open, "invalid repetition (expected {m}, {m,}, {,n} or {m,n})");
        let number = |t: &mut Self| -> Result<Option<u32>, PatternError> {
            while t.body.get(t.i) == Some(&' ') {
                t.i += 1;
            }
            let start = t.i;
            while t.body.get(t.i).is_some_and(char::is_ascii_digit) {
                t.i += 1;
            }
            let digits: String = t.body[start..t.i].iter().collect();
            while t.body.get(t.i) == Some(&' ') {
                t.i += 1;
            }
            if digits.is_empty() {
                return Ok(None);
            }
            match digits.parse::<u32>() {
                Ok(n) if n <= MAX_REPEAT => Ok(Some(n)),
                _ => Err(t.err(start, format!("repetition count above {MAX_REPEAT}"))),
            }
        };
        let min = number(self)?;
        let comma = self.body.get(self.i) == Some(&',');
        if comma {
            self.i += 1;
        }
        let max = if comma { number(self)? } else { min };
        if self.body.get(self.i) != Some(&'}') {
            return Err(bad(self));
        }
        self.i += 1;
        let quantifier = match (min, max, comma) {
            (Some(m), Some(n), _) if m > n => {
                return Err(self.err(open, "repetition minimum above its maximum"));
            }
            (Some(m), _, false) => format!("{{{m}}}"),
            (Some(m), None, true) => format!("{{{m},}}"),
            (m, Some(n), true) => format!("{{{},{n}}}", m.unwrap_or(0)),
            // Without a comma the maximum is the minimum: both absent.
            (None, _, _) => return Err(bad(self)),
        };
        self.out.push_str(&quantifier);
        Ok(())
    }

    /// After a `\`: a `\d`-style class, a control character, `\xhh`, or an escaped symbol.
    /// Returns the literal character when the escape denotes one.
    fn escape(&mut self, at: usize) -> Result<Option<char>, PatternError> {
        let Some(&e) = self.body.get(self.i) else {
            return Err(self.err(at, "trailing '\\'"));
        };
        self.i += 1;
        let literal = match e {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                self.out.push('\\');
                self.out.push(e);
                return Ok(None);
            }
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0C',
            'v' => '\x0B',
            'x' => {
                let hex: Option<u32> = self
                    .body
                    .get(self.i..self.i + 2)
                    .filter(|h| h.iter().all(char::is_ascii_hexdigit))
                    .and_then(|h| u32::from_str_radix(&h.iter().collect::<String>(), 16).ok());
                let Some(v) = hex else {
                    return Err(self.err(at, "'\\x' needs two hexadecimal digits"));
                };
                self.i += 2;
                let _ = write!(self.out, "\\x{v:02X}");
                // Only callers building ranges look at the value; it is always a single byte.
                return Ok(Some(char::from_u32(v).unwrap_or('\0')));
            }
            c if c.is_ascii() && (is_operator(c) || (is_literal(c) && !c.is_ascii_alphanumeric())) => c,
            c => return Err(self.err(at, format!("unsupported escape '\\{c}'"))),
        };
        push_literal(&mut self.out, literal);
        Ok(Some(literal))
    }

    /// A `[...]` class; `open` is the position of `[`.
    fn class(&mut self, open: usize) -> Result<(), PatternError> {
        self.out.push('[');
        if self.body.get(self.i) == Some(&'^') {
            self.i += 1;
            self.out.push('^');
        }
        let mut members = 0;
        loop {
            let Some(&c) = self.body.get(self.i) else {
                return Err(self.err(open, "unterminated character class '['"));
            };
            if c == ']' {
                if members == 0 {
                    return Err(self.err(open, "empty character class"));
                }
                self.i += 1;
                self.out.push(']');
                return Ok(());
            }
            let at = self.i;
            let lo = self.class_member()?;
            members += 1;
            // `a-z`: a range, unless the `-` is last (then it is literal).
            let is_range = self.body.get(self.i) == Some(&'-') && self.body.get(self.i + 1).is_some_and(|&n| n != ']');
            if !is_range {
                continue;
            }
            let Some(lo) = lo else {
                return Err(self.err(at, "a class escape cannot start a range"));
            };
            self.i += 1;
            self.out.push('-');
            let hi_at = self.i;
            let Some(hi) = self.class_member()? else {
                return Err(self.err(hi_at, "a class escape cannot end a range"));
            };
            if hi < lo {
                return Err(self.err(at, format!("invalid range '{lo}-{hi}'")));
            }
        }
    }

    /// One member of a class, emitted; its character unless it was `\d`-style.
    fn class_member(&mut self) -> Result<Option<char>, PatternError> {
        let at = self.i;
        let c = self.check_char(at)?;
        self.i += 1;
        if c == '\\' {
            return self.escape(at);
        }
        push_literal(&mut self.out, c);
        Ok(Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Result<regex::bytes::Regex, PatternError> {
        compile(&s.chars().collect::<Vec<_>>(), 0)
    }

    fn is(s: &str, hay: &str) -> bool {
        re(s).unwrap_or_else(|e| panic!("{s}: {e}")).is_match(hay.as_bytes())
    }

    #[test]
    fn documented_operators() {
        assert!(is("^[hc]at", "hat trick") && !is("^[hc]at", "the hat"));
        assert!(is("[hc]at$", "the cat") && !is("[hc]at$", "cat!"));
        assert!(is("colou?r", "color") && is("colou?r", "colour"));
        assert!(is("[abcx-z]", "y") && !is("[abcx-z]", "d"));
        assert!(is("^a{3,5}$", "aaaa") && !is("^a{3,5}$", "aa") && !is("^a{3,5}$", "aaaaaa"));
        assert!(is("^a{3, 5}$", "aaa"));
        assert!(is("^a{,2}$", "aa") && !is("^a{,2}$", "aaa"));
        assert!(is("^a{2,}$", "aaaaa") && !is("^a{2,}$", "a"));
        assert!(is("gra|ey", "grey"));
        assert!(is("^starting|^initializing|^shutting down", "shutting down now"));
        assert!(!is("^starting|^initializing|^shutting down", "skipping initializing"));
        assert!(is("abcc|ab[^c]$", "aba") && !is("abcc|ab[^c]$", "aac"));
        assert!(is("\\[.\\]", "[@]") && is("\\[.\\]", "[]]"));
        assert!(is("10\\.10\\.0\\.1", "10.10.0.1") && !is("10\\.10\\.0\\.1", "10010,051"));
        assert!(is("ab*c", "ac") && is("ab+c", "abbc") && !is("ab+c", "ac"));
        assert!(is(".at", " at"));
        assert!(is("\\d", "7") && !is("\\d", "٣") && is("\\D", "x"));
        assert!(is("\\s", "a\tb") && is("\\S", " x "));
        assert!(is("^\\w+$", "a_Z0") && !is("^\\w+$", "é") && is("\\W", "!"));
        assert!(is("\\x3A", ":") && is("\\x28", "(x"));
        assert!(is("\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}", "ip 10.0.0.1"));
        assert!(is("[Ee]rror|[Ff]ail", "fail"));
        assert!(is("[a-]", "-") && is("[-a]", "-"));
        assert!(is("[[]", "[") && is("a*?b", "ab"));
        // Class syntax of the `regex` crate stays literal.
        assert!(is("[+--]", ",") && !is("[+--]", "a"));
        assert!(is("[[:alpha:]]", "p]") && !is("[[:alpha:]]", "p"));
    }

    #[test]
    fn rejected() {
        for (bad, pos) in [
            ("something!", 9),
            ("(a)", 0),
            ("a(", 1),
            ("é", 0),
            ("a**", 2),
            ("*a", 0),
            ("a{2", 1),
            ("a{}", 1),
            ("a{3,2}", 1),
            ("a{5000}", 2),
            ("[", 0),
            ("[]", 0),
            ("[z-a]", 1),
            ("\\", 0),
            ("\\b", 0),
            ("\\p{L}", 0),
            ("\\1", 0),
            ("\\x4", 0),
            ("\\x+1", 0),
            ("a\"b", 1),
            ("%", 0),
            ("\t", 0),
            ("[\\d-z]", 1),
            ("[a--b]", 1),
        ] {
            let err = re(bad).expect_err(bad);
            assert_eq!(err.position, Some(pos + 1), "{bad}: {err}");
        }
        assert!(re("").is_err());
        assert!(re("a{1000}{1000}").is_err());
    }
}
