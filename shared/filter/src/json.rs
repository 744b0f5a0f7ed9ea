//! JSON patterns: `{ $.a.b[0] = "x" && ($.n > 5 || $.f IS TRUE) }`.
//!
//! Events are not turned into a `serde_json::Value`. The selectors of a pattern form a trie, and
//! a `DeserializeSeed` walks the event along it: values off every selected path are skipped with
//! `IgnoredAny` (validated, never allocated), strings on it are borrowed from the event unless
//! they contain escapes. That keeps the "is this JSON at all" guarantee of a full parse at a
//! fraction of the cost.

use crate::PatternError;
use crate::parser::{Expr, Parser};
use crate::value::{Cmp, Number, Op, Rhs, TextPat};
use memchr::memmem::Finder;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// AWS quotas: one wildcard per selector, three wildcard selectors per pattern.
const MAX_WILDCARD_SELECTORS: usize = 3;
/// Pre-check clauses beyond this cost more than they save.
const MAX_PRECHECK_CLAUSES: usize = 6;
/// Trie nodes a single event position can be on at once: the concrete path plus one per
/// wildcard selector (at most [`MAX_WILDCARD_SELECTORS`]).
const MAX_ACTIVE: usize = 1 + MAX_WILDCARD_SELECTORS;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(Box<str>),
    Index(usize),
    Wild,
}

fn simple_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(is_key_char)
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// The canonical spelling of a selector: the key of its extracted value.
fn canonical(segs: &[Seg]) -> String {
    let mut s = String::from("$");
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::Key(k) if simple_key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Key(k) => {
                s.push_str("['");
                s.push_str(k);
                s.push_str("']");
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Wild if i == 0 => s.push_str(".*"),
            Seg::Wild => s.push_str("[*]"),
        }
    }
    s
}

/// `$` then `.key`, `.*`, `[N]`, `[*]`, `['key']` / `.['key']` (keys with dots), at least one.
fn selector(p: &mut Parser) -> Result<Vec<Seg>, PatternError> {
    let start = p.pos;
    if p.peek() != Some('$') {
        return Err(PatternError::at(
            p.pos,
            format!("{}: expected a property selector such as $.field", p.describe_next()),
        ));
    }
    p.pos += 1;
    let mut segs = Vec::new();
    loop {
        let at = p.pos;
        match p.peek() {
            Some('.') if p.peek_at(1) == Some('[') => p.pos += 1,
            Some('.') => {
                p.pos += 1;
                if p.peek() == Some('*') {
                    p.pos += 1;
                    segs.push(Seg::Wild);
                    continue;
                }
                let mut key = String::new();
                while let Some(c) = p.peek().filter(|&c| is_key_char(c)) {
                    key.push(c);
                    p.pos += 1;
                }
                if key.is_empty() {
                    return Err(PatternError::at(at, "expected a property name after '.' in selector"));
                }
                segs.push(Seg::Key(key.into()));
                continue;
            }
            Some('[') => {}
            _ => break,
        }
        // At `[`.
        let open = p.pos;
        p.pos += 1;
        let seg = match p.peek() {
            Some('*') => {
                p.pos += 1;
                Seg::Wild
            }
            Some(q @ ('\'' | '"')) => {
                p.pos += 1;
                let mut key = String::new();
                loop {
                    match p.bump() {
                        None => return Err(PatternError::starting_at(open, "unterminated property name")),
                        Some(c) if c == q => break,
                        Some(c) => key.push(c),
                    }
                }
                Seg::Key(key.into())
            }
            Some(c) if c.is_ascii_digit() => {
                let mut n = String::new();
                while let Some(c) = p.peek().filter(char::is_ascii_digit) {
                    n.push(c);
                    p.pos += 1;
                }
                Seg::Index(n.parse().map_err(|_| PatternError::at(open, "array index too large"))?)
            }
            _ => {
                return Err(PatternError::at(
                    p.pos,
                    format!("{} in selector: expected an index, * or a quoted name", p.describe_next()),
                ));
            }
        };
        if !p.eat("]") {
            return Err(PatternError::at(open, "missing ']' in selector"));
        }
        segs.push(seg);
    }
    if segs.is_empty() {
        return Err(PatternError::at(start, "a selector needs a property after '$' (such as $.field)"));
    }
    if segs.iter().filter(|s| **s == Seg::Wild).count() > 1 {
        return Err(PatternError::at(start, "a selector may contain at most one wildcard"));
    }
    Ok(segs)
}

/// A reference such as `$.latency` in its canonical spelling (the key [`JsonPattern::extract`]
/// reports it under), or `None` when it is no selector.
pub(crate) fn canonical_reference(reference: &str) -> Option<String> {
    let chars: Vec<char> = reference.trim().chars().collect();
    let mut p = Parser::new(&chars);
    let segs = selector(&mut p).ok()?;
    p.at_end().then(|| canonical(&segs))
}

/// The text of the string, number or boolean that `reference` selects in the JSON `message`,
/// for a selector the pattern itself does not use (a metric value or dimension may name any
/// field). A wildcard selects the first such value, as in [`JsonPattern::extract`].
pub(crate) fn lookup(message: &str, reference: &str) -> Option<String> {
    let chars: Vec<char> = reference.trim().chars().collect();
    let mut p = Parser::new(&chars);
    let segs = selector(&mut p).ok().filter(|_| p.at_end())?;
    let root: serde_json::Value = serde_json::from_str(message).ok()?;
    fn walk(v: &serde_json::Value, segs: &[Seg]) -> Option<String> {
        let Some((seg, rest)) = segs.split_first() else {
            return match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
        };
        match (seg, v) {
            (Seg::Key(k), serde_json::Value::Object(m)) => walk(m.get(&**k)?, rest),
            (Seg::Index(i), serde_json::Value::Array(a)) => walk(a.get(*i)?, rest),
            (Seg::Wild, serde_json::Value::Object(m)) => m.values().find_map(|c| walk(c, rest)),
            (Seg::Wild, serde_json::Value::Array(a)) => a.iter().find_map(|c| walk(c, rest)),
            _ => None,
        }
    }
    walk(&root, &segs)
}

#[derive(Clone, Debug)]
enum Test {
    Cmp(Cmp),
    IsNull,
    IsTrue,
    IsFalse,
    NotExists,
}

#[derive(Clone, Debug)]
struct Cond {
    slot: u32,
    test: Test,
}

#[derive(Clone, Debug)]
struct Slot {
    key: String,
    segs: Vec<Seg>,
    wildcard: bool,
}

#[derive(Clone, Debug, Default)]
struct Node {
    keys: Vec<(Box<str>, u32)>,
    indices: Vec<(usize, u32)>,
    wild: Option<u32>,
    slot: Option<u32>,
}

/// Text that must occur in any matching event. Keys and string values can be written with
/// escapes (`\u0041`, `\/`), so those literals only prove anything when the event has no
/// backslash; the `true`/`false`/`null` literals have no escaped form.
#[derive(Clone, Debug)]
struct Lit {
    finder: Finder<'static>,
    escapable: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct JsonPattern {
    expr: Expr<Cond>,
    slots: Vec<Slot>,
    nodes: Vec<Node>,
    /// All clauses must hold; a clause holds when any of its literals occurs.
    precheck: Vec<Vec<Lit>>,
}

/// At `{`: the whole pattern.
pub(crate) fn parse(p: &mut Parser) -> Result<JsonPattern, PatternError> {
    let open = p.pos;
    p.pos += 1;
    let mut slots: Vec<Slot> = Vec::new();
    p.skip_ws();
    if p.peek() == Some('}') {
        return Err(PatternError::at(open, "empty JSON pattern '{}'"));
    }
    let mut wildcard_selectors = 0;
    let expr = p.expr(&mut |p: &mut Parser| {
        p.skip_ws();
        let sel_pos = p.pos;
        let segs = selector(p)?;
        let wildcard = segs.contains(&Seg::Wild);
        if wildcard {
            wildcard_selectors += 1;
            if wildcard_selectors > MAX_WILDCARD_SELECTORS {
                return Err(PatternError::at(
                    sel_pos,
                    format!("too many wildcard selectors (at most {MAX_WILDCARD_SELECTORS} per pattern)"),
                ));
            }
        }
        let key = canonical(&segs);
        let slot = match slots.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                slots.push(Slot { key, segs, wildcard });
                slots.len() - 1
            }
        } as u32;
        p.skip_ws();
        let op_pos = p.pos;
        let test = if let Some(op) = p.op()? {
            Test::Cmp(p.rhs(op, op_pos, &[')', '}'])?)
        } else if p.peek().is_some_and(char::is_alphabetic) {
            keyword_test(p)?
        } else {
            return Err(PatternError::at(
                p.pos,
                format!("{} after selector: expected an operator, IS or NOT EXISTS", p.describe_next()),
            ));
        };
        Ok(Cond { slot, test })
    })?;
    p.skip_ws();
    match p.peek() {
        Some('}') => p.pos += 1,
        None => return Err(PatternError::at(open, "missing closing '}' for the '{' opened")),
        Some(_) => return Err(PatternError::at(p.pos, format!("{}: expected &&, || or '}}'", p.describe_next()))),
    }
    p.expect_end('}')?;
    let nodes = build_trie(&slots);
    let mut precheck = required(&expr, &slots);
    precheck.truncate(MAX_PRECHECK_CLAUSES);
    Ok(JsonPattern { expr, slots, nodes, precheck })
}

fn word(p: &mut Parser) -> (usize, String) {
    p.skip_ws();
    let at = p.pos;
    let mut w = String::new();
    while let Some(c) = p.peek().filter(|c| c.is_alphabetic()) {
        w.push(c);
        p.pos += 1;
    }
    (at, w.to_ascii_uppercase())
}

/// `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS` (keywords in any case).
fn keyword_test(p: &mut Parser) -> Result<Test, PatternError> {
    let (at, first) = word(p);
    match first.as_str() {
        "IS" => {
            let (at2, second) = word(p);
            match second.as_str() {
                "NULL" => Ok(Test::IsNull),
                "TRUE" => Ok(Test::IsTrue),
                "FALSE" => Ok(Test::IsFalse),
                "NOT" => Err(PatternError::at(at, "IS NOT is not supported (use != or NOT EXISTS)")),
                _ => Err(PatternError::at(at2, "expected NULL, TRUE or FALSE after IS")),
            }
        }
        "NOT" => {
            let (at2, second) = word(p);
            if second == "EXISTS" {
                Ok(Test::NotExists)
            } else {
                Err(PatternError::at(at2, "expected EXISTS after NOT"))
            }
        }
        "EXISTS" => Err(PatternError::at(at, "EXISTS is not supported (use NOT EXISTS, or = * to require a value)")),
        _ => Err(PatternError::at(at, format!("unknown keyword '{first}': expected an operator, IS or NOT EXISTS"))),
    }
}

fn build_trie(slots: &[Slot]) -> Vec<Node> {
    let mut nodes = vec![Node::default()];
    for (i, slot) in slots.iter().enumerate() {
        let mut at = 0usize;
        for seg in &slot.segs {
            let existing = match seg {
                Seg::Key(k) => nodes[at].keys.iter().find(|(key, _)| key == k).map(|&(_, n)| n),
                Seg::Index(ix) => nodes[at].indices.iter().find(|(j, _)| j == ix).map(|&(_, n)| n),
                Seg::Wild => nodes[at].wild,
            };
            at = match existing {
                Some(n) => n as usize,
                None => {
                    let n = nodes.len() as u32;
                    nodes.push(Node::default());
                    match seg {
                        Seg::Key(k) => nodes[at].keys.push((k.clone(), n)),
                        Seg::Index(ix) => nodes[at].indices.push((*ix, n)),
                        Seg::Wild => nodes[at].wild = Some(n),
                    }
                    n as usize
                }
            };
        }
        nodes[at].slot = Some(i as u32);
    }
    nodes
}

fn lit(text: &str, escapable: bool) -> Lit {
    Lit { finder: Finder::new(text.as_bytes()).into_owned(), escapable }
}

/// Conjunctive clauses every matching event satisfies. Conservative by construction: a
/// condition that could hold without some text in the event contributes nothing.
fn required(expr: &Expr<Cond>, slots: &[Slot]) -> Vec<Vec<Lit>> {
    match expr {
        Expr::Leaf(c) => leaf_required(c, &slots[c.slot as usize]),
        Expr::And(items) => items.iter().flat_map(|e| required(e, slots)).collect(),
        Expr::Or(items) => {
            let mut clause = Vec::new();
            for e in items {
                // Any one clause of a branch is implied by the branch.
                match required(e, slots).into_iter().next() {
                    Some(c) => clause.extend(c),
                    None => return Vec::new(),
                }
            }
            vec![clause]
        }
    }
}

fn leaf_required(c: &Cond, slot: &Slot) -> Vec<Vec<Lit>> {
    let mut out = Vec::new();
    // Text a JSON string can hold verbatim only if it has no character JSON must escape.
    let verbatim = |s: &str| !s.chars().any(|c| c == '"' || c == '\\' || c.is_control());
    match &c.test {
        Test::NotExists => return out,
        Test::IsNull => out.push(vec![lit("null", false)]),
        Test::IsTrue => out.push(vec![lit("true", false)]),
        Test::IsFalse => out.push(vec![lit("false", false)]),
        Test::Cmp(Cmp { op: Op::Eq, rhs: Rhs::Text(t) }) => {
            // Text comparisons also see numbers as text, and a number's text need not be how the
            // event spells it (`4e2` vs `400`): digits-only literals prove nothing.
            let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
            if let Some(s) = t.required_text().filter(|s| verbatim(s) && !numeric(s)) {
                let quoted = matches!(t, TextPat::Exact(_)) && s != "true" && s != "false";
                let text = if quoted { format!("\"{s}\"") } else { s.to_string() };
                out.push(vec![lit(&text, true)]);
            }
        }
        Test::Cmp(_) => {}
    }
    // Every test but NOT EXISTS needs the selector to resolve, so its keys are in the event.
    for seg in &slot.segs {
        if let Seg::Key(k) = seg
            && verbatim(k)
        {
            out.push(vec![lit(&format!("\"{k}\""), true)]);
        }
    }
    out
}

/// A value found on a selected path.
#[derive(Clone, Debug)]
enum Val<'a> {
    Str(Cow<'a, str>),
    I(i64),
    U(u64),
    F(f64),
    Bool(bool),
    Null,
    Container,
}

impl Val<'_> {
    fn number(&self) -> Option<Number> {
        match *self {
            Val::I(v) => Some(Number::from_i64(v)),
            Val::U(v) => Some(Number::from_u64(v)),
            Val::F(v) => Some(Number::from_f64(v)),
            _ => None,
        }
    }

    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Val::Str(s) => Some(Cow::Borrowed(s)),
            Val::I(v) => Some(Cow::Owned(v.to_string())),
            Val::U(v) => Some(Cow::Owned(v.to_string())),
            Val::F(v) => Some(Cow::Owned(v.to_string())),
            Val::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Val::Null | Val::Container => None,
        }
    }
}

fn test_value(test: &Test, v: &Val) -> bool {
    match test {
        Test::IsNull => matches!(v, Val::Null),
        Test::IsTrue => matches!(v, Val::Bool(true)),
        Test::IsFalse => matches!(v, Val::Bool(false)),
        Test::NotExists => false,
        Test::Cmp(cmp) => match v {
            Val::Str(s) => cmp.test_text(s),
            Val::Bool(b) => cmp.test_text(if *b { "true" } else { "false" }),
            // Objects, arrays and null fail both `=` and `!=` (AWS: the selector must reach a
            // string or number).
            Val::Null | Val::Container => false,
            num => {
                let n = num.number().expect("numeric variant");
                cmp.test_number(n, || num.text().map(Cow::into_owned).unwrap_or_default())
            }
        },
    }
}

type Captures<'a> = Vec<(u32, Val<'a>)>;

impl JsonPattern {
    pub(crate) fn matches(&self, message: &str) -> bool {
        self.precheck(message) && self.capture(message).is_some_and(|caps| self.eval(&caps))
    }

    pub(crate) fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        if !self.precheck(message) {
            return None;
        }
        let caps = self.capture(message)?;
        if !self.eval(&caps) {
            return None;
        }
        let mut out = BTreeMap::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let i = i as u32;
            let mut vals = caps.iter().filter(|(s, _)| *s == i).map(|(_, v)| v);
            // A wildcard reports its first value; a plain selector its last (duplicate keys:
            // the last one wins, as in most JSON parsers).
            let v = if slot.wildcard { vals.find(|v| v.text().is_some()) } else { vals.next_back() };
            if let Some(text) = v.and_then(Val::text) {
                out.insert(slot.key.clone(), text.into_owned());
            }
        }
        Some(out)
    }

    pub(crate) fn can_produce(&self, value: &str) -> bool {
        let chars: Vec<char> = value.trim().chars().collect();
        let mut p = Parser::new(&chars);
        match selector(&mut p) {
            Ok(segs) if p.at_end() => self.slots.iter().any(|s| s.segs == segs),
            _ => false,
        }
    }

    fn precheck(&self, message: &str) -> bool {
        let hay = message.as_bytes();
        let first = hay.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if !matches!(first, Some(b'{' | b'[')) {
            return false;
        }
        let mut backslash = None;
        for clause in &self.precheck {
            if clause.iter().any(|l| l.finder.find(hay).is_some()) {
                continue;
            }
            if !clause.iter().any(|l| l.escapable) {
                return false;
            }
            if !*backslash.get_or_insert_with(|| memchr::memchr(b'\\', hay).is_some()) {
                return false;
            }
        }
        true
    }

    fn capture<'a>(&self, message: &'a str) -> Option<Captures<'a>> {
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(message);
        let root = Active::one(0);
        Walk { pattern: self, active: root, out: &mut out }.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(out)
    }

    fn eval(&self, caps: &Captures) -> bool {
        self.expr.eval(&mut |c: &Cond| {
            let mut vals = caps.iter().filter(|(s, _)| *s == c.slot).map(|(_, v)| v);
            match &c.test {
                Test::NotExists => vals.next().is_none(),
                t if self.slots[c.slot as usize].wildcard => vals.any(|v| test_value(t, v)),
                t => vals.next_back().is_some_and(|v| test_value(t, v)),
            }
        })
    }
}

/// The trie nodes the walk is on at one position of the event.
#[derive(Clone, Copy)]
struct Active {
    ids: [u32; MAX_ACTIVE],
    len: usize,
}

impl Active {
    fn one(id: u32) -> Active {
        let mut a = Active { ids: [0; MAX_ACTIVE], len: 0 };
        a.push(id);
        a
    }

    fn push(&mut self, id: u32) {
        // The quota on wildcard selectors bounds this; anything past it cannot be reached.
        if self.len < MAX_ACTIVE {
            self.ids[self.len] = id;
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ids[..self.len].iter().copied()
    }
}

struct Walk<'p, 'c, 'de> {
    pattern: &'p JsonPattern,
    active: Active,
    out: &'c mut Captures<'de>,
}

impl<'de> Walk<'_, '_, 'de> {
    fn capture(&mut self, v: Val<'de>) {
        for id in self.active.iter() {
            if let Some(slot) = self.pattern.nodes[id as usize].slot {
                self.out.push((slot, v.clone()));
            }
        }
    }

    fn children(&self, pick: impl Fn(&Node) -> Option<u32>) -> Active {
        let mut next = Active { ids: [0; MAX_ACTIVE], len: 0 };
        for id in self.active.iter() {
            let node = &self.pattern.nodes[id as usize];
            if let Some(c) = pick(node) {
                next.push(c);
            }
            if let Some(w) = node.wild {
                next.push(w);
            }
        }
        next
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(mut self, v: bool) -> Result<(), E> {
        self.capture(Val::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(mut self, v: i64) -> Result<(), E> {
        self.capture(Val::I(v));
        Ok(())
    }

    fn visit_u64<E>(mut self, v: u64) -> Result<(), E> {
        self.capture(Val::U(v));
        Ok(())
    }

    fn visit_f64<E>(mut self, v: f64) -> Result<(), E> {
        self.capture(Val::F(v));
        Ok(())
    }

    fn visit_borrowed_str<E>(mut self, v: &'de str) -> Result<(), E> {
        self.capture(Val::Str(Cow::Borrowed(v)));
        Ok(())
    }

    fn visit_str<E>(mut self, v: &str) -> Result<(), E> {
        self.capture(Val::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.capture(Val::Null);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.capture(Val::Container);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let next = self.children(|n| n.keys.iter().find(|(k, _)| **k == *key).map(|&(_, c)| c));
            if next.len == 0 {
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Walk { pattern: self.pattern, active: next, out: &mut *self.out })?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.capture(Val::Container);
        let mut index = 0usize;
        loop {
            let next = self.children(|n| n.indices.iter().find(|(i, _)| *i == index).map(|&(_, c)| c));
            let more = if next.len == 0 {
                seq.next_element::<IgnoredAny>()?.is_some()
            } else {
                seq.next_element_seed(Walk { pattern: self.pattern, active: next, out: &mut *self.out })?.is_some()
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// Object keys, borrowed from the event unless they contain escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compile(pattern: &str) -> JsonPattern {
        let chars: Vec<char> = pattern.chars().collect();
        parse(&mut Parser::new(&chars)).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    /// JSON text for `s`, each character written plainly or as `\uXXXX` by `escape`.
    fn encode(s: &str, escape: &[bool]) -> String {
        let mut out = String::from("\"");
        for (i, c) in s.chars().enumerate() {
            let must = c == '"' || c == '\\' || c.is_control();
            if must || escape.get(i).copied().unwrap_or(false) {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            } else {
                out.push(c);
            }
        }
        out.push('"');
        out
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            ("ERROR|WARN|tr|true|400|4e2|a\"b|déjà|x/y", prop::collection::vec(any::<bool>(), 0..6))
                .prop_map(|(s, e)| encode(&s, &e)),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
            Just("400".to_string()),
            Just("4e2".to_string()),
            Just("[\"ERROR\", 1]".to_string()),
        ]
    }

    fn event() -> impl Strategy<Value = String> {
        prop::collection::vec((("level|msg|n|flag|x", prop::collection::vec(any::<bool>(), 0..3)), scalar()), 0..5)
            .prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|((k, e), v)| format!("{}: {v}", encode(&k, &e))).collect();
                format!("{{{}}}", body.join(", "))
            })
    }

    const PATTERNS: &[&str] = &[
        r#"{ $.level = "ERROR" }"#,
        r#"{ $.level = ERROR && $.msg = *déjà* }"#,
        r#"{ $.level = "a\"b" }"#,
        r#"{ $.level = x/y || $.msg IS NULL }"#,
        r#"{ $.n = "400" }"#,
        r#"{ $.n = 400 }"#,
        r#"{ $.n = 4* }"#,
        r#"{ $.flag = tr* }"#,
        r#"{ $.flag = "true" }"#,
        r#"{ $.flag IS TRUE || $.flag IS FALSE }"#,
        r#"{ $.x NOT EXISTS && $.level != WARN }"#,
        r#"{ $.* = ERROR }"#,
        r#"{ $.level[*] = ERROR }"#,
        r#"{ ($.level = WARN || $.msg = "déjà") && $.n > 10 }"#,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The pre-check only ever rejects events the full evaluation rejects too.
        #[test]
        fn precheck_is_sound(i in 0..PATTERNS.len(), message in event()) {
            let p = compile(PATTERNS[i]);
            let full = p.capture(&message).is_some_and(|caps| p.eval(&caps));
            prop_assert_eq!(p.matches(&message), full, "{} on {}", PATTERNS[i], message);
        }
    }

    #[test]
    fn precheck_rejects_cheaply() {
        let p = compile(r#"{ $.level = "ERROR" && $.latency > 100 }"#);
        assert_eq!(p.precheck.len(), 3);
        assert!(!p.precheck(r#"{"level": "INFO", "latency": 500}"#));
        assert!(!p.precheck("ERROR latency"));
        assert!(p.precheck(r#"{"level": "IN\u0046O", "latency": 500}"#));
        assert!(p.precheck(r#"{"level": "ERROR", "latency": 5}"#));
    }
}
