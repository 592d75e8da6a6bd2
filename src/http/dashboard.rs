//! The partner dashboard at `/dashboard`, served entirely by the hub: the page and its bundled
//! script and styles (Observable Plot and graphql-ws from `dashboard/`, with the documents of
//! `documents/dashboard/`) are compiled into the binary by `build.rs`, so it needs no internet.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

const PAGE: &str = include_str!("../../dashboard/index.html");
const SCRIPT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dashboard/dashboard.js"));
const STYLES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dashboard/dashboard.css"));

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "dashboard.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "dashboard.css" => (STYLES, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    // The assets change only with the binary; an hour of caching spares reloads within a session.
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}
