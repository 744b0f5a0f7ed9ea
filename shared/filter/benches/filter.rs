//! Lines per second, on one core, for the pattern shapes the service runs most.
//!
//! `CARGO_TARGET_DIR=/tmp/filter-target cargo bench -p logbook-filter --bench filter`
//!
//! Plain `Instant` timing over a few thousand deterministic ~200-byte lines, repeated for about
//! a second per case; `black_box` keeps the optimiser from skipping work.

use logbook_filter::FilterPattern;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so runs compare like with like.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from_digit(self.below(16) as u32, 16).unwrap()).collect()
    }
}

const LINES: usize = 4096;
const SERVICES: [&str; 5] = ["checkout", "payments", "inventory", "search", "accounts"];
const PATHS: [&str; 6] = ["/api/cart", "/api/items/42", "/index.html", "/static/app.js", "/api/pay", "/health"];
const MESSAGES: [&str; 5] = [
    "request completed",
    "cache miss for key",
    "upstream responded slowly",
    "connection reset by peer",
    "timeout after 3000ms waiting for lock",
];

/// Application lines; about 4 % ERROR and 6 % WARN.
fn text_lines(rng: &mut Rng) -> Vec<String> {
    (0..LINES)
        .map(|i| {
            let level = match rng.below(100) {
                0..4 => "ERROR",
                4..10 => "WARN",
                _ => "INFO",
            };
            format!(
                "2024-05-02T00:{:02}:{:02}.{:03}Z [{level}] host=ip-10-0-{}-{} service={} request_id={} user=u{} path={} msg=\"{}\" latency_ms={} bytes={}",
                i % 60,
                rng.below(60),
                rng.below(1000),
                rng.below(256),
                rng.below(256),
                rng.pick(&SERVICES),
                rng.hex(32),
                rng.below(100_000),
                rng.pick(&PATHS),
                rng.pick(&MESSAGES),
                rng.below(5000),
                rng.below(100_000),
            )
        })
        .collect()
}

/// Apache combined-format access lines: 9 fields with quoted and bracketed ones.
fn access_lines(rng: &mut Rng) -> Vec<String> {
    (0..LINES)
        .map(|i| {
            let status = match rng.below(100) {
                0..3 => "503",
                3..8 => "404",
                _ => "200",
            };
            format!(
                "10.{}.{}.{} - user{} [02/May/2024:00:{:02}:{:02} +0000] \"GET {}?id={} HTTP/1.1\" {status} {} \"https://example.com/\" \"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\"",
                rng.below(256),
                rng.below(256),
                rng.below(256),
                rng.below(1000),
                i % 60,
                rng.below(60),
                rng.pick(&PATHS),
                rng.hex(8),
                rng.below(20_000),
            )
        })
        .collect()
}

/// JSON application lines, all at `level` (so a pre-check on it passes or fails throughout).
fn json_lines(rng: &mut Rng, level: &str) -> Vec<String> {
    (0..LINES)
        .map(|_| {
            format!(
                r#"{{"timestamp":"2024-05-02T00:34:{:02}.{:03}Z","level":"{level}","service":"{}","requestId":"{}","latency":{},"path":"{}","user":{{"id":{},"region":"eu-west-1"}},"message":"{}"}}"#,
                rng.below(60),
                rng.below(1000),
                rng.pick(&SERVICES),
                rng.hex(16),
                rng.below(2000),
                rng.pick(&PATHS),
                rng.below(100_000),
                rng.pick(&MESSAGES),
            )
        })
        .collect()
}

struct Outcome {
    per_sec: f64,
    matched: f64,
    avg_len: f64,
}

fn measure(pattern: &str, lines: &[String]) -> Outcome {
    let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    let pass = |p: &FilterPattern| lines.iter().filter(|l| p.matches(black_box(l.as_str()))).count();
    // Warm-up, and the match rate.
    let matched = pass(&p);
    let mut total = 0usize;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1000) {
        black_box(pass(black_box(&p)));
        total += lines.len();
    }
    let secs = start.elapsed().as_secs_f64();
    Outcome {
        per_sec: total as f64 / secs,
        matched: matched as f64 / lines.len() as f64,
        avg_len: lines.iter().map(String::len).sum::<usize>() as f64 / lines.len() as f64,
    }
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let text = text_lines(&mut rng);
    let access = access_lines(&mut rng);
    let json_error = json_lines(&mut rng, "ERROR");
    let json_info = json_lines(&mut rng, "INFO");

    let cases: [(&str, &str, &[String], f64); 8] = [
        ("single term", "ERROR", &text, 20e6),
        ("three ?terms", "?ERROR ?WARN ?FATAL", &text, 20e6),
        (
            "space-delimited, 2 conditions",
            "[ip, id, user, ts, request, status=5*, bytes>1000, referer, agent]",
            &access,
            5e6,
        ),
        ("space-delimited, ..., 2 conditions", "[ip, ..., status=5*, bytes>1000, referer, agent]", &access, 5e6),
        ("JSON, 2 conditions, pre-check passes", r#"{ $.level = "ERROR" && $.latency > 1000 }"#, &json_error, 1e6),
        ("JSON, 2 conditions, pre-check rejects", r#"{ $.level = "ERROR" && $.latency > 1000 }"#, &json_info, 5e6),
        ("regex", r"%timeout after \d+ms%", &text, 0.0),
        ("regex in a field", r"[ip, ..., request=%/api/items/\d+%, status, bytes, referer, agent]", &access, 0.0),
    ];

    println!("{:<40} {:>14} {:>8} {:>9} {:>6}", "case", "lines/s/core", "matched", "avg bytes", "goal");
    for (name, pattern, lines, goal) in cases {
        let o = measure(pattern, lines);
        let goal_text = if goal > 0.0 { format!("{:.0}M", goal / 1e6) } else { "-".to_string() };
        let verdict = if goal > 0.0 && o.per_sec < goal { " (below goal)" } else { "" };
        println!(
            "{name:<40} {:>12.2}M {:>7.1}% {:>9.0} {goal_text:>6}{verdict}",
            o.per_sec / 1e6,
            o.matched * 100.0,
            o.avg_len,
        );
        println!("    {pattern}");
    }
}
