//! The GraphiQL playground, served entirely by the hub: the page and its bundled script and
//! styles are compiled into the binary (see `build.rs`), so it works without internet.

use axum::{
    extract::Path,
    http::header,
    response::{Html, IntoResponse, Response},
};

use super::assets;

const PAGE: &str = include_str!("../../playground/index.html");
const SCRIPT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/playground/playground.js"));
const STYLES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/playground/playground.css"));

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// The schema in SDL, the same text as `knowledge-hub schema` prints and `schema.graphql` holds:
/// the public's way to read the schema (introspection needs a token).
pub async fn schema_sdl() -> Response {
    static SDL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sdl = SDL.get_or_init(crate::graphql::schema::sdl);
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        sdl.as_str(),
    )
        .into_response()
}

pub async fn asset(Path(file): Path<String>) -> Response {
    assets::serve(
        &file,
        &[("playground.js", SCRIPT, assets::SCRIPT), ("playground.css", STYLES, assets::STYLES)],
    )
}
