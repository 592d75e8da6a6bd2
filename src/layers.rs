//! The layers hold: only `db/` speaks SQL, and `db/` and `domain/` know nothing above them
//! (GraphQL, HTTP, the policy, the relay). Read from the sources, so a new file is checked too.
//! Test code (from a file's first `#[cfg(test)]` on) and comments are left out: tests may fill a
//! database.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its text before its first `#[cfg(test)]`.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                // Comments may name what the code does not use.
                let code =
                    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
                found.push((path, code));
            }
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The files under `src/` outside `allowed` that mention any of `words`, with the word.
fn offenders(words: &[&str], within: &Path, allowed: &[&str]) -> Vec<String> {
    let root = src();
    sources(within)
        .into_iter()
        .filter(|(path, _)| {
            let relative = path.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/");
            !allowed.iter().any(|a| relative.starts_with(a))
        })
        .flat_map(|(path, code)| {
            words
                .iter()
                .filter(|word| code.contains(**word))
                .map(|word| format!("{} mentions {word}", path.display()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn only_db_speaks_sql() {
    // error.rs turns a `DbErr` into the one error type.
    let found = offenders(&["sea_orm", "Statement::", "sqlx"], &src(), &["db/", "error.rs"]);
    assert!(found.is_empty(), "SQL outside db/: {found:#?}");
}

#[test]
fn db_and_domain_know_nothing_above_them() {
    let above = [
        "async_graphql",
        "axum",
        "hyper",
        "crate::graphql",
        "crate::http",
        "crate::auth",
        "crate::events",
        "crate::notify",
        "crate::rate_limit",
        "crate::app",
        "crate::bootstrap",
    ];
    for layer in ["db", "domain"] {
        let found = offenders(&above, &src().join(layer), &[]);
        assert!(found.is_empty(), "{layer}/ reaches above itself: {found:#?}");
    }
    let found = offenders(&["crate::db", "sea_orm"], &src().join("domain"), &[]);
    assert!(found.is_empty(), "domain/ reaches into the database: {found:#?}");
}
