//! The console's assets, compiled into the binary and served at `GET /console` and
//! `GET /console/{file}` with a strict Content-Security-Policy. The page signs its own API calls
//! in the browser (SigV4, with the user's Logbook key) and sends them to `POST /` on the same
//! origin, so this function needs no permission at all: it answers from memory.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// (path under `/console/`, content type, bytes). `index.html` is also `/console` itself.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../assets/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("style.css", "text/css; charset=utf-8", include_bytes!("../assets/style.css")),
    (
        "vendor/aws4fetch.esm.mjs",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/aws4fetch.esm.mjs"),
    ),
    ("vendor/aws4fetch.LICENSE", "text/plain; charset=utf-8", include_bytes!("../assets/vendor/aws4fetch.LICENSE")),
];

/// Log messages are attacker-controlled: the page renders them as text only, and this policy
/// makes any other way fail loudly (no inline script, no string-to-HTML sinks with Trusted Types,
/// API calls to this origin only).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
require-trusted-types-for 'script'";

/// The answer (API Gateway's payload 2.0 response) to `GET {path}`; `region` is the stack's,
/// offered as the sign-in form's default.
pub fn respond(method: &str, path: &str, if_none_match: Option<&str>, region: &str) -> Value {
    if method != "GET" && method != "HEAD" {
        return plain(405, "Method Not Allowed");
    }
    let rest = match path {
        "/console" | "/console/" => "index.html",
        p => match p.strip_prefix("/console/") {
            Some(r) => r,
            None => return plain(404, "Not Found"),
        },
    };
    if rest == "config.json" {
        return answer("application/json", json!({ "region": region }).to_string().into_bytes(), if_none_match);
    }
    match ASSETS.iter().find(|(p, _, _)| *p == rest) {
        Some((_, content_type, bytes)) => answer(content_type, bytes.to_vec(), if_none_match),
        None => plain(404, "Not Found"),
    }
}

fn headers(content_type: &str, etag: &str) -> Value {
    json!({
        "content-type": content_type,
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
        // Revalidated every time (cheap: an ETag), so a new deployment is seen at once.
        "cache-control": "no-cache",
        "etag": etag,
    })
}

fn answer(content_type: &str, body: Vec<u8>, if_none_match: Option<&str>) -> Value {
    let etag = format!("\"{:x}\"", Sha256::digest(&body));
    if if_none_match == Some(etag.as_str()) {
        return json!({ "statusCode": 304, "headers": headers(content_type, &etag), "body": "" });
    }
    json!({
        "statusCode": 200,
        "headers": headers(content_type, &etag),
        "body": String::from_utf8_lossy(&body),
        "isBase64Encoded": false,
    })
}

fn plain(status: u16, text: &str) -> Value {
    json!({ "statusCode": status, "headers": { "content-type": "text/plain; charset=utf-8" }, "body": text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_each_asset_with_its_policy_and_nothing_else() {
        let cases = [
            ("GET", "/console", 200, Some("text/html; charset=utf-8")),
            ("GET", "/console/", 200, Some("text/html; charset=utf-8")),
            ("GET", "/console/app.js", 200, Some("text/javascript; charset=utf-8")),
            ("GET", "/console/vendor/aws4fetch.esm.mjs", 200, Some("text/javascript; charset=utf-8")),
            ("GET", "/console/config.json", 200, Some("application/json")),
            ("GET", "/console/../template.yaml", 404, None),
            ("GET", "/console/missing.js", 404, None),
            ("GET", "/other", 404, None),
            ("POST", "/console", 405, None),
        ];
        for (method, path, status, content_type) in cases {
            let r = respond(method, path, None, "eu-west-1");
            assert_eq!(r["statusCode"], status, "{method} {path}");
            if let Some(ct) = content_type {
                assert_eq!(r["headers"]["content-type"], ct, "{path}");
                assert_eq!(r["headers"]["content-security-policy"], CSP);
                assert_eq!(r["headers"]["x-content-type-options"], "nosniff");
            }
        }
        assert_eq!(respond("GET", "/console/config.json", None, "eu-west-1")["body"], r#"{"region":"eu-west-1"}"#);
        let etag = respond("GET", "/console/app.js", None, "r")["headers"]["etag"].as_str().unwrap().to_owned();
        assert_eq!(respond("GET", "/console/app.js", Some(&etag), "r")["statusCode"], 304);
    }

    #[test]
    fn the_page_has_no_inline_script_or_html_sinks() {
        let html = String::from_utf8_lossy(ASSETS[0].2);
        assert!(!html.contains("<script>") && html.contains(r#"<script type="module" src="/console/app.js">"#));
        let app = String::from_utf8_lossy(ASSETS[1].2);
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
            assert!(!app.contains(sink), "app.js uses {sink}");
        }
    }
}
