//! The web client's files, embedded in the binary and served at `/` with their content
//! types, a strict Content-Security-Policy and revalidated caching (`ETag`, `304`).

use std::borrow::Cow;

use super::http::{Request, Response};

/// Scripts, styles, images and connections from this origin only; no inline script or
/// style, no frames, no plugins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: u64,
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../web/", $file)),
            etag: fnv1a(include_bytes!(concat!("../web/", $file))),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the client. The page loads `app.js`, which imports the other modules.
const ASSETS: &[Asset] = &[
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/index.html", "index.html", "text/html; charset=utf-8"),
    asset!("/style.css", "style.css", "text/css; charset=utf-8"),
    asset!("/favicon.svg", "favicon.svg", "image/svg+xml"),
    asset!("/app.js", "app.js", JS),
    asset!("/conn.js", "conn.js", JS),
    asset!("/store.js", "store.js", JS),
    asset!("/render.js", "render.js", JS),
    asset!("/composer.js", "composer.js", JS),
    asset!("/util.js", "util.js", JS),
];

/// The response for a `GET` or `HEAD` of one of the client's files, or `None` when the path
/// is not one of them. A matching `If-None-Match` gets `304` without a body.
pub fn serve(req: &Request) -> Option<Response> {
    let head = req.method == "HEAD";
    if req.method != "GET" && !head {
        return None;
    }
    let asset = ASSETS.iter().find(|a| a.path == req.path)?;
    let etag = format!("\"{:016x}\"", asset.etag);
    let headers = format!(
        "Cache-Control: no-cache\r\nETag: {etag}\r\nContent-Security-Policy: {CSP}\r\n\
         X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
    );
    let fresh = req
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let (status, body) = if fresh {
        (304, &[][..])
    } else {
        (200, asset.body)
    };
    let mut resp = Response::typed(status, asset.content_type, body);
    resp.headers = Cow::Owned(headers);
    resp.head_only = head;
    Some(resp)
}

/// FNV-1a of a file, computed at compile time: the file's `ETag`.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, headers: Vec<(String, String)>) -> Option<Response> {
        serve(&Request {
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            headers,
            body: Vec::new(),
        })
    }

    #[test]
    fn all_assets_together_stay_within_60_kb() {
        let total: usize = ASSETS
            .iter()
            .filter(|a| a.path != "/index.html")
            .map(|a| a.body.len())
            .sum();
        assert!(total <= 60 * 1024, "the web client is {total} bytes");
    }

    #[test]
    fn page_has_a_strict_csp_and_revalidates_with_its_etag() {
        let page = get("/", Vec::new()).expect("page");
        assert_eq!(page.status, 200);
        assert!(page.headers.contains("script-src 'self';"));
        assert!(!page.headers.contains("unsafe-inline"));
        let etag = page
            .headers
            .lines()
            .find_map(|l| l.strip_prefix("ETag: "))
            .expect("etag")
            .to_owned();
        let again = get("/", vec![("if-none-match".into(), etag)]).expect("page");
        assert_eq!(again.status, 304);
        assert_eq!(again.body.iter().map(|b| b.len()).sum::<usize>(), 0);
        assert!(get("/nope.js", Vec::new()).is_none());
    }

    #[test]
    fn page_has_no_inline_script_or_style() {
        let html = std::str::from_utf8(ASSETS[0].body).expect("utf-8");
        assert!(!html.contains("<script>") && !html.contains("<style"));
        for inline in [" onclick=", " onload=", " onerror=", " style="] {
            assert!(!html.contains(inline), "{inline}");
        }
    }
}
