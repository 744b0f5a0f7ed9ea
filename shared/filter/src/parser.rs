//! The character cursor and the pieces of syntax the three pattern families share: quoted
//! strings, `%regex%` values, comparison operators and right-hand sides, and `&&`/`||` trees.
//!
//! Patterns are at most 1,024 characters, so the parser works on a `[char]`: positions in error
//! messages are then character offsets for free, and no slice can split a UTF-8 sequence.

use crate::PatternError;
use crate::value::{Cmp, Number, Op, Rhs, TextPat};

/// At most this many `%regex%` in one pattern (AWS quota for JSON and space-delimited patterns).
pub const MAX_REGEXES: usize = 2;

/// Parentheses deeper than this are refused rather than risking the stack.
const MAX_DEPTH: usize = 32;

pub(crate) struct Parser<'a> {
    chars: &'a [char],
    pub(crate) pos: usize,
    regexes: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(chars: &'a [char]) -> Self {
        Parser { chars, pos: 0, regexes: 0 }
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    pub(crate) fn looking_at(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek_at(i) == Some(c))
    }

    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.looking_at(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    /// Reads what follows as an error message: the next character, or "the end of the pattern".
    pub(crate) fn describe_next(&self) -> String {
        match self.peek() {
            Some(c) => format!("unexpected '{c}'"),
            None => "unexpected end of the pattern".to_string(),
        }
    }

    /// After the closing `}` or `]` only whitespace may follow.
    pub(crate) fn expect_end(&mut self, after: char) -> Result<(), PatternError> {
        self.skip_ws();
        if self.at_end() {
            Ok(())
        } else {
            Err(PatternError::at(self.pos, format!("unexpected text after the closing '{after}'")))
        }
    }

    /// A `"..."` string at the cursor. `\"` and `\\` are escapes; any other backslash is kept,
    /// so Windows paths and regex-looking text stay literal.
    pub(crate) fn quoted(&mut self) -> Result<String, PatternError> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some('"'));
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(PatternError::starting_at(start, "unterminated quoted string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c @ ('"' | '\\')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err(PatternError::starting_at(start, "unterminated quoted string")),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A `%regex%` at the cursor, compiled, and counted against the per-pattern quota.
    pub(crate) fn regex(&mut self) -> Result<regex::bytes::Regex, PatternError> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some('%'));
        let body_start = start + 1;
        let Some(len) = self.chars[body_start..].iter().position(|&c| c == '%') else {
            return Err(PatternError::starting_at(start, "unterminated regular expression (missing closing '%')"));
        };
        self.regexes += 1;
        if self.regexes > MAX_REGEXES {
            return Err(PatternError::at(
                start,
                format!("too many regular expressions (at most {MAX_REGEXES} are allowed in a filter pattern)"),
            ));
        }
        let body = &self.chars[body_start..body_start + len];
        self.pos = body_start + len + 1;
        crate::awsregex::compile(body, start)
    }

    /// A comparison operator, or `None` when the cursor is not on one.
    pub(crate) fn op(&mut self) -> Result<Option<Op>, PatternError> {
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('!'), Some('=')) => Op::Ne,
            (Some('<'), Some('=')) => Op::Le,
            (Some('>'), Some('=')) => Op::Ge,
            (Some('='), _) => Op::Eq,
            (Some('<'), _) => Op::Lt,
            (Some('>'), _) => Op::Gt,
            (Some('!'), _) => return Err(PatternError::at(self.pos, "'!' must be followed by '=' (use '!=')")),
            _ => return Ok(None),
        };
        self.pos += op.symbol().len();
        Ok(Some(op))
    }

    /// The right-hand side after `op` (which started at `op_pos`). Bare values run until
    /// whitespace, a character in `stops`, `&&` or `||`.
    pub(crate) fn rhs(&mut self, op: Op, op_pos: usize, stops: &[char]) -> Result<Cmp, PatternError> {
        self.skip_ws();
        let start = self.pos;
        let need_number = || PatternError::at(start, format!("'{}' needs a number to compare with", op.symbol()));
        let rhs = match self.peek() {
            None => return Err(PatternError::at(op_pos, format!("missing value after '{}'", op.symbol()))),
            Some('"') => {
                let s = self.quoted()?;
                if op.is_ordering() {
                    return Err(need_number());
                }
                Rhs::Text(TextPat::new(s))
            }
            Some('%') => {
                if op.is_ordering() {
                    return Err(need_number());
                }
                Rhs::Regex(self.regex()?)
            }
            Some(c) if stops.contains(&c) || c == '(' || self.looking_at("&&") || self.looking_at("||") => {
                return Err(PatternError::at(op_pos, format!("missing value after '{}'", op.symbol())));
            }
            Some(c @ ('=' | '!' | '<' | '>')) => {
                return Err(PatternError::at(start, format!("unexpected '{c}' after '{}'", op.symbol())));
            }
            Some(_) => {
                let mut s = String::new();
                while let Some(c) = self.peek() {
                    if c.is_whitespace() || stops.contains(&c) || self.looking_at("&&") || self.looking_at("||") {
                        break;
                    }
                    if c == '"' || c == '(' {
                        return Err(PatternError::at(
                            self.pos,
                            format!("unexpected '{c}' inside a value (enclose the whole value in double quotes)"),
                        ));
                    }
                    s.push(c);
                    self.pos += 1;
                }
                match Number::parse(&s) {
                    Some(n) => Rhs::Number(n, s.into_boxed_str()),
                    None if op.is_ordering() => return Err(need_number()),
                    None => Rhs::Text(TextPat::new(s)),
                }
            }
        };
        Ok(Cmp { op, rhs })
    }

    /// `a || b`, `a && b`, `( ... )`, with `&&` binding tighter than `||`.
    pub(crate) fn expr<L>(
        &mut self,
        leaf: &mut dyn FnMut(&mut Parser<'a>) -> Result<L, PatternError>,
    ) -> Result<Expr<L>, PatternError> {
        self.or_expr(leaf, 0)
    }

    fn or_expr<L>(
        &mut self,
        leaf: &mut dyn FnMut(&mut Parser<'a>) -> Result<L, PatternError>,
        depth: usize,
    ) -> Result<Expr<L>, PatternError> {
        let mut items = vec![self.and_expr(leaf, depth)?];
        loop {
            self.skip_ws();
            if !self.eat("||") {
                break;
            }
            items.push(self.and_expr(leaf, depth)?);
        }
        Ok(if items.len() == 1 { items.pop().unwrap() } else { Expr::Or(items) })
    }

    fn and_expr<L>(
        &mut self,
        leaf: &mut dyn FnMut(&mut Parser<'a>) -> Result<L, PatternError>,
        depth: usize,
    ) -> Result<Expr<L>, PatternError> {
        let mut items = vec![self.unary(leaf, depth)?];
        loop {
            self.skip_ws();
            if !self.eat("&&") {
                break;
            }
            items.push(self.unary(leaf, depth)?);
        }
        Ok(if items.len() == 1 { items.pop().unwrap() } else { Expr::And(items) })
    }

    fn unary<L>(
        &mut self,
        leaf: &mut dyn FnMut(&mut Parser<'a>) -> Result<L, PatternError>,
        depth: usize,
    ) -> Result<Expr<L>, PatternError> {
        self.skip_ws();
        if self.peek() != Some('(') {
            return Ok(Expr::Leaf(leaf(self)?));
        }
        let open = self.pos;
        if depth >= MAX_DEPTH {
            return Err(PatternError::at(open, format!("parentheses nested more than {MAX_DEPTH} deep")));
        }
        self.pos += 1;
        let inner = self.or_expr(leaf, depth + 1)?;
        self.skip_ws();
        if !self.eat(")") {
            return Err(PatternError::at(open, "missing ')' for the '(' opened"));
        }
        Ok(inner)
    }
}

/// A boolean combination of conditions.
#[derive(Clone, Debug)]
pub(crate) enum Expr<L> {
    Leaf(L),
    And(Vec<Expr<L>>),
    Or(Vec<Expr<L>>),
}

impl<L> Expr<L> {
    pub(crate) fn eval(&self, test: &mut impl FnMut(&L) -> bool) -> bool {
        match self {
            Expr::Leaf(l) => test(l),
            Expr::And(items) => items.iter().all(|e| e.eval(test)),
            Expr::Or(items) => items.iter().any(|e| e.eval(test)),
        }
    }

    pub(crate) fn leaves(&self) -> Vec<&L> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'s>(&'s self, out: &mut Vec<&'s L>) {
        match self {
            Expr::Leaf(l) => out.push(l),
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| e.collect(out)),
        }
    }

    pub(crate) fn try_map<M, E>(self, f: &mut impl FnMut(L) -> Result<M, E>) -> Result<Expr<M>, E> {
        Ok(match self {
            Expr::Leaf(l) => Expr::Leaf(f(l)?),
            Expr::And(items) => Expr::And(items.into_iter().map(|e| e.try_map(f)).collect::<Result<_, _>>()?),
            Expr::Or(items) => Expr::Or(items.into_iter().map(|e| e.try_map(f)).collect::<Result<_, _>>()?),
        })
    }
}
