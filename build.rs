//! Build script of `knowledge-hub`: bundles the offline `GraphiQL` playground.
//!
//! The playground's third-party code (graphiql, react, react-dom, graphql,
//! graphql-ws) comes from the npm packages pinned by
//! `playground/package-lock.json`. This script
//!
//! 1. runs `npm ci` in `playground/` when `node_modules` is missing or the
//!    lockfile changed since the last install (tracked by a stamp file inside
//!    `node_modules`),
//! 2. bundles `playground/src/main.jsx` with esbuild into
//!    `$OUT_DIR/playground/playground.js` and `$OUT_DIR/playground/playground.css`,
//!    which the crate embeds with `include_bytes!`/`include_str!`.
//!
//! 3. lists every `documents/**/*.graphql` (the known documents, see
//!    `graphql::persisted`) in `$OUT_DIR/documents.rs`, which the crate
//!    includes: each file's path and its text, through `include_str!`.
//!
//! It writes nothing outside `playground/node_modules` and `$OUT_DIR`.
//! Requires Node.js 18+ and npm on `PATH`.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// What the user must have installed, repeated in every failure message.
const NODE_HINT: &str = "The GraphiQL playground is bundled from npm packages at build time: \
install Node.js 18 or newer together with npm (e.g. `apt-get install nodejs npm` on Debian/Ubuntu) \
and make sure `node` and `npm` are on PATH.";

/// File inside `node_modules` that holds a copy of the lockfile `npm ci` installed.
const STAMP_FILE: &str = ".hub-lock-stamp";

fn main() {
    if let Err(message) = run() {
        eprintln!();
        eprintln!("error: knowledge-hub build script failed: {message}");
        eprintln!();
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(required_env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(required_env("OUT_DIR")?);
    let playground = manifest_dir.join("playground");

    for path in [
        "playground/package.json",
        "playground/package-lock.json",
        "playground/src",
        "playground/index.html",
        "build.rs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }

    let lockfile_path = playground.join("package-lock.json");
    let lockfile =
        fs::read(&lockfile_path).map_err(|e| format!("cannot read {}: {e}", lockfile_path.display()))?;

    install_dependencies(&playground, &lockfile)?;
    bundle(&playground, &out_dir.join("playground"))?;
    list_documents(&manifest_dir, &out_dir)
}

fn required_env(name: &str) -> Result<String, String> {
    env::var(name)
        .map_err(|_| format!("environment variable {name} is not set (is this running under cargo?)"))
}

/// Runs `npm ci` unless `node_modules` already matches the lockfile.
fn install_dependencies(playground: &Path, lockfile: &[u8]) -> Result<(), String> {
    let node_modules = playground.join("node_modules");
    let stamp = node_modules.join(STAMP_FILE);
    let esbuild = esbuild_path(playground);

    let up_to_date = esbuild.is_file() && fs::read(&stamp).is_ok_and(|installed| installed == lockfile);
    if up_to_date {
        return Ok(());
    }

    check_node()?;
    println!("cargo:warning=installing the playground's npm packages (npm ci in playground/)");
    let status = run_command(
        Command::new(npm_program())
            // `--include=dev` keeps esbuild even when NODE_ENV=production or
            // npm's `omit=dev` is set in the environment.
            .args(["ci", "--no-audit", "--no-fund", "--include=dev"])
            .current_dir(playground),
        "npm",
    )?;
    if !status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({status}); see its output above. It needs access to the \
             npm registry (or a populated npm cache). {NODE_HINT}",
            playground.display()
        ));
    }
    if !esbuild.is_file() {
        return Err(format!(
            "`npm ci` finished but {} is missing; is esbuild still listed in playground/package.json?",
            esbuild.display()
        ));
    }
    fs::write(&stamp, lockfile).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Bundles the playground into `dest/playground.js` and `dest/playground.css`.
fn bundle(playground: &Path, dest: &Path) -> Result<(), String> {
    fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let mut outfile = OsString::from("--outfile=");
    outfile.push(dest.join("playground.js"));

    let mut command = Command::new(esbuild_path(playground));
    command
        .current_dir(playground)
        .arg("src/main.jsx")
        .args([
            "--bundle",
            "--minify",
            "--format=iife",
            "--platform=browser",
            "--target=es2020",
            "--define:process.env.NODE_ENV=\"production\"",
            "--log-level=warning",
        ])
        // Fonts and images referenced by the CSS are inlined as data: URLs so
        // the page fetches nothing but playground.js and playground.css.
        .args(
            ["woff2", "woff", "ttf", "otf", "eot", "svg", "png", "gif", "jpg", "jpeg", "webp"]
                .iter()
                .map(|ext| format!("--loader:.{ext}=dataurl")),
        )
        .arg(outfile);

    let status = run_command(&mut command, "esbuild")?;
    if !status.success() {
        return Err(format!(
            "esbuild failed to bundle {} ({status}); see its output above",
            playground.join("src/main.jsx").display()
        ));
    }

    // esbuild names the CSS after the JS output file.
    for name in ["playground.js", "playground.css"] {
        let file = dest.join(name);
        if !file.is_file() {
            return Err(format!("esbuild did not produce {}", file.display()));
        }
    }
    Ok(())
}

/// Fails with an installation hint when `node` cannot be run (esbuild's npm
/// package and `npm ci` both need it).
fn check_node() -> Result<(), String> {
    let output = Command::new(node_program()).arg("--version").output().map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            format!("`node` was not found. {NODE_HINT}")
        } else {
            format!("cannot run `node --version`: {e}. {NODE_HINT}")
        }
    })?;
    if !output.status.success() {
        return Err(format!("`node --version` failed ({}). {NODE_HINT}", output.status));
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major = version.trim_start_matches('v').split('.').next().and_then(|major| major.parse::<u32>().ok());
    match major {
        Some(major) if major >= 18 => Ok(()),
        Some(_) => Err(format!("found Node.js {version}, which is too old. {NODE_HINT}")),
        None => Err(format!("cannot understand `node --version` output {version:?}. {NODE_HINT}")),
    }
}

/// Runs a command with inherited stdout/stderr, turning "not found" into a hint.
fn run_command(command: &mut Command, name: &str) -> Result<ExitStatus, String> {
    command.status().map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            format!("`{name}` was not found ({}). {NODE_HINT}", program_name(command))
        } else {
            format!("cannot run `{name}` ({}): {e}. {NODE_HINT}", program_name(command))
        }
    })
}

fn program_name(command: &Command) -> String {
    command.get_program().to_string_lossy().into_owned()
}

fn esbuild_path(playground: &Path) -> PathBuf {
    let bin = playground.join("node_modules").join(".bin");
    if cfg!(windows) { bin.join("esbuild.cmd") } else { bin.join("esbuild") }
}

fn npm_program() -> &'static OsStr {
    OsStr::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

fn node_program() -> &'static OsStr {
    OsStr::new(if cfg!(windows) { "node.exe" } else { "node" })
}

/// Writes `$OUT_DIR/documents.rs`: a slice of `(path, text)` for every `documents/**/*.graphql`,
/// sorted by path, the text included with `include_str!` so that editing a document rebuilds.
fn list_documents(manifest_dir: &Path, out_dir: &Path) -> Result<(), String> {
    println!("cargo:rerun-if-changed=documents");
    let root = manifest_dir.join("documents");
    let mut files = Vec::new();
    if root.is_dir() {
        graphql_files(&root, &mut files)?;
    }
    files.sort();
    let mut list = String::from("&[\n");
    for file in &files {
        let relative = file.strip_prefix(manifest_dir).map_err(|e| format!("{}: {e}", file.display()))?;
        let path = relative.to_str().ok_or_else(|| format!("{} is not UTF-8", file.display()))?;
        let absolute = file.to_str().ok_or_else(|| format!("{} is not UTF-8", file.display()))?;
        list.push_str(&format!("    ({:?}, include_str!({absolute:?})),\n", path.replace('\\', "/")));
    }
    list.push_str("]\n");
    let destination = out_dir.join("documents.rs");
    fs::write(&destination, list).map_err(|e| format!("cannot write {}: {e}", destination.display()))
}

/// Every `*.graphql` file under `dir`, at any depth.
fn graphql_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        if path.is_dir() {
            graphql_files(&path, files)?;
        } else if path.extension() == Some(OsStr::new("graphql")) {
            files.push(path);
        }
    }
    Ok(())
}
