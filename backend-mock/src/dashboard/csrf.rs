//! Cross-site request forgery: every dashboard action must come from a page of the dashboard
//! itself. Browsers say where a request comes from in `Sec-Fetch-Site` (checked when present) and
//! in `Origin` on every POST; a request that says neither is refused too, as no browser that the
//! dashboard supports sends such a POST. The session cookie's `SameSite=Strict` is the second wall.
//!
//! The check is a layer over the whole dashboard rather than something each action asks for, so an
//! action added later cannot forget it: every request but a safe one (a page read) passes it first.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::page;

/// Refuses a request that changes something unless the dashboard's own pages sent it.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if !request.method().is_safe()
        && let Err(why) = same_origin(request.headers())
    {
        tracing::warn!(why, "dashboard action refused: not posted from the dashboard");
        return page::failure(StatusCode::FORBIDDEN, "This action must be sent from the dashboard's own pages.")
            .into_response();
    }
    next.run(request).await
}

/// Whether the headers show a request from the page's own origin; the reason when not.
pub fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return if site == "same-origin" { Ok(()) } else { Err("Sec-Fetch-Site is not same-origin") };
    }
    let origin = headers.get(header::ORIGIN).ok_or("no Origin nor Sec-Fetch-Site")?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).ok_or("no Host")?;
    let origin = origin.to_str().map_err(|_| "an unreadable Origin")?;
    let same = ["http://", "https://"].iter().any(|scheme| origin.strip_prefix(scheme) == Some(host));
    if same { Ok(()) } else { Err("Origin is another site") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("value"));
        }
        map
    }

    #[test]
    fn a_post_from_the_dashboard_passes() {
        assert_eq!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])), Ok(()));
        let by_origin = [("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")];
        assert_eq!(same_origin(&headers(&by_origin)), Ok(()), "an older browser, by Origin");
    }

    #[test]
    fn a_post_from_elsewhere_or_from_nowhere_is_refused() {
        for refused in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("sec-fetch-site", "none")]),
            // Fetch metadata wins over a matching Origin: the browser knows better.
            headers(&[("sec-fetch-site", "cross-site"), ("origin", "http://h:1"), ("host", "h:1")]),
            headers(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8080")]),
            headers(&[("origin", "http://127.0.0.1:8080.evil.example"), ("host", "127.0.0.1:8080")]),
            headers(&[("origin", "null"), ("host", "127.0.0.1:8080")]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
            headers(&[("host", "127.0.0.1:8080")]),
            headers(&[]),
        ] {
            assert!(same_origin(&refused).is_err(), "{refused:?}");
        }
    }
}
