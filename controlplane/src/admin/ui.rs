//! The web UI (`web-ui/`), embedded in the binary and served at `/ui/` on the admin
//! listener. It is a client of the admin API: it has no endpoint of its own.
//!
//! The assets are public (they hold no data; everything they show comes from the admin API
//! with the token the operator signs in with). Every answer carries a strict
//! Content-Security-Policy: scripts and styles from this origin only, no inline code, no
//! framing. `connect-src` allows any http(s) origin so that "Try it" can call the data plane.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

use super::answer::Answer;
use super::error::NotFound;

/// The icon browsers show for the UI; also answered at `/favicon.ico`, which browsers ask
/// for on the admin listener's other pages.
pub(crate) const FAVICON: &str = "favicon.svg";

/// Every asset: its name under `/ui/`, content type and bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../../../web-ui/index.html"),
    ),
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../web-ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/api.js"),
    ),
    (
        "diff.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/diff.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/dom.js"),
    ),
    (
        "guards.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/guards.js"),
    ),
    (
        "history.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/history.js"),
    ),
    (
        "model.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/model.js"),
    ),
    (
        "nav.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/nav.js"),
    ),
    (
        "route-editor.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/route-editor.js"),
    ),
    (
        "routes.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/routes.js"),
    ),
    (
        "signin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/signin.js"),
    ),
    (
        "status.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/status.js"),
    ),
    (
        "try-it.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/try-it.js"),
    ),
    (
        "traffic.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/traffic.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web-ui/chart.js"),
    ),
    (
        FAVICON,
        "image/svg+xml",
        include_str!("../../../web-ui/favicon.svg"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../web-ui/style.css"),
    ),
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self' http: https:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The answer to `GET /ui/<file>`.
pub(crate) fn asset(file: &str) -> Result<Answer, NotFound> {
    let (_, content_type, text) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| NotFound::NoFile(file.to_owned()))?;
    let mut answer = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(answer)
}

/// `GET /ui`: to `/ui/`, where the relative asset paths resolve.
pub(crate) fn redirect() -> Answer {
    let mut answer = Response::new(Full::new(Bytes::new()));
    *answer.status_mut() = StatusCode::PERMANENT_REDIRECT;
    answer
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/ui/"));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_with_a_strict_policy_and_no_inline_code() {
        for (name, _, text) in ASSETS {
            let answer = asset(name).expect("a listed asset");
            assert_eq!(answer.status(), StatusCode::OK);
            let csp = answer.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii");
            assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"));
            if name.ends_with(".html") || name.is_empty() {
                // No inline script or style, no external origin.
                assert!(!text.contains("<script>") && !text.contains("<style"));
                assert!(!text.contains(" style=") && !text.contains(" onclick="));
                assert!(!text.contains("http://") && !text.contains("https://"));
            }
        }
        assert!(asset("../Cargo.toml").is_err());
    }

    #[test]
    fn every_module_the_ui_imports_is_served() {
        for (name, _, text) in ASSETS {
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(module) = line.split('\'').nth(1) else {
                    continue;
                };
                let file = module.trim_start_matches("./");
                assert!(
                    ASSETS.iter().any(|(served, ..)| *served == file),
                    "{name} imports {module}, which /ui/ does not serve"
                );
            }
        }
    }
}
