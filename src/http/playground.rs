//! The GraphiQL playground, served entirely by the hub: the page and its bundled script and
//! styles are compiled into the binary (see `build.rs`), so it works without internet.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

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
    let (body, content_type) = match file.as_str() {
        "playground.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "playground.css" => (STYLES, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    // The assets change only with the binary; an hour of caching spares reloads within a session.
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}
