//! The bundled pages' scripts and styles (the playground's, the dashboard's), served from the
//! binary: `build.rs` bundles them, each page's module embeds its own.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

pub const SCRIPT: &str = "text/javascript; charset=utf-8";
pub const STYLES: &str = "text/css; charset=utf-8";

/// The file of that name among a page's `files` (name, body, content type), or 404.
pub fn serve(file: &str, files: &[(&str, &'static [u8], &'static str)]) -> Response {
    let Some((_, body, content_type)) = files.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The assets change only with the binary; an hour of caching spares reloads within a session.
    ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=3600")], *body)
        .into_response()
}
