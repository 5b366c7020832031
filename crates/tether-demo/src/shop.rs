//! The sample shop: a page using the stock posthog-js against Tether, and a backend whose
//! logs go to Tether over OTLP, stamped by [`tether_stamp::StampLayer`] with the session and
//! person of the browser that called it. Some actions fail on purpose so that the linked
//! backend errors and frontend exceptions have something to show.

use std::time::Instant;

use axum::Router;
use axum::extract::{Form, Json, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Where the shop's page finds Tether.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// Tether's HTTP base URL as the browser reaches it, e.g. `http://127.0.0.1:8010`.
    pub tether_url: String,
    /// The project token the page's posthog-js sends with.
    pub project_token: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Product {
    id: u32,
    name: &'static str,
    price: f64,
    in_stock: bool,
}

const PRODUCTS: [Product; 6] = [
    Product { id: 1, name: "Trail running shoes", price: 119.0, in_stock: true },
    Product { id: 2, name: "Merino hoodie", price: 89.5, in_stock: true },
    Product { id: 3, name: "Ceramic pour-over set", price: 42.0, in_stock: true },
    Product { id: 4, name: "Espresso machine", price: 499.0, in_stock: false },
    Product { id: 5, name: "Noise-cancelling headphones", price: 249.99, in_stock: true },
    Product { id: 6, name: "Field notebook (3-pack)", price: 14.25, in_stock: true },
];

/// The shop's routes; every request is stamped and logged.
pub fn router(config: &ShopConfig) -> Router {
    let page = page(config);
    let gift_page = page.clone();
    Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route("/gift-card", post(move |form| redeem_gift_card(gift_page.clone(), form)))
        .route("/api/products", get(products))
        .route("/api/cart", post(add_to_cart))
        .route("/api/coupon", post(coupon))
        .route("/api/checkout", post(checkout))
        .layer(middleware::from_fn(log_request))
        // Outermost, so the request log line is stamped too.
        .layer(tether_stamp::StampLayer::new())
}

fn page(config: &ShopConfig) -> String {
    let json = |s: &str| serde_json::Value::from(s).to_string();
    include_str!("shop.html")
        .replace("__TETHER_URL_JSON__", &json(&config.tether_url))
        .replace("__PROJECT_TOKEN_JSON__", &json(&config.project_token))
        .replace("__TETHER_URL__", &config.tether_url)
}

/// One access-log line per request, like a real service's.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    // `tracing` levels must be constants at each call site, hence one line per level.
    macro_rules! access_log {
        ($level:expr) => {
            tracing::event!(
                $level,
                http.method = method,
                http.route = path,
                http.status_code = status,
                duration_ms,
                "{method} {path} {status}"
            )
        };
    }
    match status {
        500.. => access_log!(tracing::Level::ERROR),
        400..=499 => access_log!(tracing::Level::WARN),
        _ => access_log!(tracing::Level::INFO),
    }
    response
}

async fn products() -> Json<&'static [Product]> {
    tracing::debug!(count = PRODUCTS.len(), "catalog served from cache");
    Json(&PRODUCTS)
}

#[derive(Deserialize)]
struct CartItem {
    product_id: u32,
}

fn product(id: u32) -> Option<Product> {
    PRODUCTS.iter().copied().find(|p| p.id == id)
}

async fn add_to_cart(Json(item): Json<CartItem>) -> Response {
    let Some(product) = product(item.product_id) else {
        tracing::warn!(product_id = item.product_id, "unknown product");
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such product"}))).into_response();
    };
    if !product.in_stock {
        tracing::warn!(product_id = product.id, product = product.name, warehouse = "ams-2", "out of stock");
        let error = format!("{} is out of stock", product.name);
        return (StatusCode::CONFLICT, Json(json!({ "error": error }))).into_response();
    }
    tracing::info!(product_id = product.id, product = product.name, price = product.price, "added to cart");
    Json(json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct Coupon {
    code: String,
}

async fn coupon(Json(coupon): Json<Coupon>) -> Json<serde_json::Value> {
    let code = coupon.code.trim().to_uppercase();
    tracing::info!(coupon = code, "coupon looked up");
    if code != "SAVE10" {
        tracing::warn!(coupon = code, "coupon unknown");
    }
    // The page expects {"discount": {"percent": …}}; answering without it is the planted bug.
    Json(json!({"valid": false, "code": code}))
}

#[derive(Deserialize)]
struct GiftCard {
    code: String,
}

/// A classic form post: the browser sends no tracing headers with it, so the stamping layer
/// finds the session in the posthog-js cookie; the answer is the shop page again, with the
/// outcome.
async fn redeem_gift_card(page: String, Form(card): Form<GiftCard>) -> Html<String> {
    let code = card.code.trim().to_uppercase();
    let outcome = if code.starts_with("GIFT") {
        tracing::info!(gift_card = code, amount = 25, "gift card redeemed");
        // The code is the visitor's text, shown back: escaped.
        let shown = code.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        format!("<p id=\"status\" class=\"ok\">Gift card {shown} redeemed: $25.00 credit</p>")
    } else {
        tracing::warn!(gift_card = code, "gift card unknown");
        "<p id=\"status\" class=\"error\">That gift card is not valid</p>".to_owned()
    };
    Html(page.replacen("<p id=\"status\"></p>", &outcome, 1))
}

#[derive(Deserialize)]
struct Order {
    product_ids: Vec<u32>,
}

async fn checkout(Json(order): Json<Order>) -> Response {
    let items: Vec<Product> = order.product_ids.iter().filter_map(|id| product(*id)).collect();
    let total: f64 = items.iter().map(|p| p.price).sum();
    tracing::info!(items = items.len(), order_total = total, "checkout started");
    if items.is_empty() {
        tracing::warn!("checkout with an empty cart");
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "your cart is empty"}))).into_response();
    }
    let attempt_ms = rand::rng().random_range(900..2400);
    tracing::error!(
        gateway = "acme-pay",
        order_total = total,
        items = items.len(),
        attempt_ms,
        error.code = "GATEWAY_TIMEOUT",
        "payment declined: card processor timed out after {attempt_ms} ms"
    );
    (StatusCode::BAD_GATEWAY, Json(json!({"error": "payment declined by the card processor"})))
        .into_response()
}

/// The shop's background worker: every `every`, a job that runs outside any request and so
/// logs without a session or person (its logs show how unlinked logs look in Tether).
/// Runs until the task is aborted.
pub async fn background_jobs(every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await; // the first tick is immediate; start one period in
    for run in 1_u64.. {
        ticks.tick().await;
        let (synced, slow) = {
            let mut rng = rand::rng();
            (rng.random_range(40..400_u32), rng.random_ratio(1, 4))
        };
        tracing::info!(job = "inventory-sync", run, items = synced, "inventory sync finished");
        if slow {
            tracing::warn!(
                job = "payment-webhooks",
                run,
                retry_in_s = 30,
                "payment webhook delivery failed, will retry"
            );
        }
    }
}
