//! The checks on the raw text of a document, before anything parses it: its size in bytes, the
//! deepest nesting of its brackets and its number of lexical tokens, all in one linear pass, so
//! that a huge or 10,000-level document never reaches async-graphql's recursive parser.

use async_graphql::ServerResult;

use super::codes::{too_deep, too_large};

/// The deepest the raw document may nest brackets (`{`, `[`, `(`), checked before parsing.
pub const MAX_NESTING: usize = 64;
/// The largest document, in bytes and in lexical tokens, checked before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
pub const MAX_TOKENS: usize = 10_000;

/// The checks on the raw text, before anything parses it: size, bracket nesting, tokens.
pub(super) fn check_text(query: &str) -> ServerResult<()> {
    let bytes = query.len();
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(too_large(format!("the document has {bytes} bytes, the limit is {MAX_DOCUMENT_BYTES}")));
    }
    let lexed = lex(query);
    if lexed.nesting > MAX_NESTING {
        return Err(too_deep(format!(
            "the document nests {} levels of brackets, the limit is {MAX_NESTING}",
            lexed.nesting
        )));
    }
    if lexed.tokens > MAX_TOKENS {
        return Err(too_large(format!(
            "the document has {} tokens, the limit is {MAX_TOKENS}",
            lexed.tokens
        )));
    }
    Ok(())
}

/// What a linear scan of the raw text finds: the deepest nesting of `{`, `[` and `(`, and the
/// number of lexical tokens (strings and comments are skipped over, a string is one token).
#[derive(Debug, PartialEq, Eq)]
struct Lexed {
    nesting: usize,
    tokens: usize,
}

fn lex(document: &str) -> Lexed {
    let bytes = document.as_bytes();
    let (mut depth, mut deepest, mut tokens, mut i) = (0usize, 0usize, 0usize, 0usize);
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b == b'+';
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                tokens += 1;
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => {
                tokens += 1;
                depth = depth.saturating_sub(1);
            }
            b if word(b) => {
                tokens += 1;
                while i + 1 < bytes.len() && word(bytes[i + 1]) {
                    i += 1;
                }
            }
            b if b.is_ascii_whitespace() || b == b',' => {}
            _ => tokens += 1,
        }
        i += 1;
    }
    Lexed { nesting: deepest, tokens }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexing_ignores_strings_and_comments() {
        assert_eq!(lex("{ a(x: [1, [2]]) { b } }"), Lexed { nesting: 4, tokens: 16 });
        assert_eq!(
            lex(r#"{ a(s: "{{{{[[[") # {{{{
            { b(t: """ {{{ \""" {{{ """) } }"#)
            .nesting,
            3
        );
        assert_eq!(lex(&"{".repeat(10_000)).nesting, 10_000);
        assert_eq!(lex("query($v: Int = -1.5e3) { a @include(if: true) }").tokens, 19);
    }
}
