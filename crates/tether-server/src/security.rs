//! Browser security headers on every response, and what changes behind a TLS proxy.
//!
//! The policy allows what the UI and the replay player need and nothing else: scripts and
//! styles from Tether's own origin (the UI has no inline script); inline styles, because
//! React sets `style` attributes and rrweb rebuilds recorded pages — their `<style>`
//! elements and attributes — inside an `about:blank` iframe that inherits this policy;
//! images, fonts and media from anywhere, because recorded pages load theirs from their own
//! sites (the player's iframe runs no scripts, so these cannot act). Tether is never framed
//! (`frame-ancestors 'none'`, `X-Frame-Options: DENY`).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https: http:; \
    font-src 'self' data: https: http:; media-src 'self' data: blob: https: http:; \
    connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers; behind a TLS proxy also HSTS and `Secure` on cookies.
pub(crate) async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    if state.behind_tls_proxy() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
        let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            let secure = format!("{}; Secure", cookie.to_str().unwrap_or_default());
            if let Ok(value) = HeaderValue::from_str(&secure) {
                headers.append(header::SET_COOKIE, value);
            }
        }
    }
    response
}
