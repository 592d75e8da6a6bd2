//! The partner dashboard at `/dashboard`, served entirely by the hub: the page and its bundled
//! script and styles (Observable Plot and graphql-ws from `dashboard/`, with the documents of
//! `documents/dashboard/`) are compiled into the binary by `build.rs`, so it needs no internet.

use axum::{
    extract::Path,
    response::{Html, Response},
};

use super::assets;

const PAGE: &str = include_str!("../../dashboard/index.html");
const SCRIPT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dashboard/dashboard.js"));
const STYLES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dashboard/dashboard.css"));

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    assets::serve(
        &file,
        &[("dashboard.js", SCRIPT, assets::SCRIPT), ("dashboard.css", STYLES, assets::STYLES)],
    )
}
