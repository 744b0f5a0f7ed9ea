//! Any headers and query: parsing a signature, checking its time and verifying it never panic,
//! and every refusal is a 4xx in AWS's form. Input: NUL-separated fields (method, path, query,
//! then header name/value pairs), then the body after a second NUL pair.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbook_auth::sigv4::{Request, Signature, parse_amz_date};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\0\0").unwrap_or((&text, ""));
    let mut fields = head.split('\0');
    let method = fields.next().unwrap_or("POST");
    let path = fields.next().unwrap_or("/");
    let query = fields.next().filter(|q| !q.is_empty());
    let rest: Vec<&str> = fields.collect();
    let headers: Vec<(&str, &str)> = rest.chunks(2).filter_map(|c| Some((c[0], *c.get(1)?))).collect();
    let req = Request { method, path, query, headers: &headers, body: body.as_bytes() };
    let _ = parse_amz_date(path);
    match Signature::parse(&req) {
        Ok(Some(sig)) => {
            let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_215_679);
            if let Err(e) = sig.check_time(now) {
                assert!((400..500).contains(&e.status()));
            }
            if let Err(e) = sig.verify(&req, "secret") {
                assert!((400..500).contains(&e.status()));
            }
        }
        Ok(None) => {}
        Err(e) => assert!((400..500).contains(&e.status()), "{e:?}"),
    }
});
