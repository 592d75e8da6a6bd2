//! Build script of `knowledge-hub`: bundles the offline pages, the `GraphiQL` playground and the
//! partner dashboard.
//!
//! Each page is an npm package of its own (`playground/`, `dashboard/`) whose third-party code
//! comes from the packages pinned by its `package-lock.json`. For each, this script
//!
//! 1. runs `npm ci` in its folder when `node_modules` is missing or the lockfile changed since
//!    the last install (tracked by a stamp file inside `node_modules`),
//! 2. bundles its entry point with esbuild into `$OUT_DIR/<page>/<page>.js` and
//!    `$OUT_DIR/<page>/<page>.css`, which the crate embeds with `include_bytes!`.
//!
//! 3. lists every `documents/**/*.graphql` (the known documents, see `graphql::persisted`) in
//!    `$OUT_DIR/documents.rs`, which the crate includes: each file's path and its text, through
//!    `include_str!`.
//!
//! It writes nothing outside the pages' `node_modules` and `$OUT_DIR`.
//! Requires Node.js 18+ and npm on `PATH`.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// What the user must have installed, repeated in every failure message.
const NODE_HINT: &str = "The playground and the dashboard are bundled from npm packages at build time: \
install Node.js 18 or newer together with npm (e.g. `apt-get install nodejs npm` on Debian/Ubuntu) \
and make sure `node` and `npm` are on PATH.";

/// File inside `node_modules` that holds a copy of the lockfile `npm ci` installed.
const STAMP_FILE: &str = ".hub-lock-stamp";

/// A page bundled from an npm package of its own.
struct Page {
    /// Its folder, with `package.json` and `package-lock.json`, and the name of its outputs.
    name: &'static str,
    /// The entry point esbuild starts from, relative to the folder.
    entry: &'static str,
    /// What else the bundle reads, outside the folder's `src`, for cargo to watch.
    also_reads: &'static [&'static str],
}

const PAGES: [Page; 2] = [
    Page { name: "playground", entry: "src/main.jsx", also_reads: &["documents/playground"] },
    // The dashboard imports its GraphQL documents as text: they are the files partners copy.
    Page { name: "dashboard", entry: "src/main.js", also_reads: &["documents/dashboard"] },
];

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
    println!("cargo:rerun-if-changed=build.rs");
    for page in &PAGES {
        for file in ["package.json", "package-lock.json", "src", "index.html"] {
            println!("cargo:rerun-if-changed={}/{file}", page.name);
        }
        for path in page.also_reads {
            println!("cargo:rerun-if-changed={path}");
        }
        let folder = manifest_dir.join(page.name);
        let lockfile_path = folder.join("package-lock.json");
        let lockfile =
            fs::read(&lockfile_path).map_err(|e| format!("cannot read {}: {e}", lockfile_path.display()))?;
        install_dependencies(&folder, &lockfile)?;
        bundle(page, &folder, &out_dir.join(page.name))?;
    }
    list_documents(&manifest_dir, &out_dir)
}

fn required_env(name: &str) -> Result<String, String> {
    env::var(name)
        .map_err(|_| format!("environment variable {name} is not set (is this running under cargo?)"))
}

/// Runs `npm ci` unless `node_modules` already matches the lockfile.
fn install_dependencies(folder: &Path, lockfile: &[u8]) -> Result<(), String> {
    let node_modules = folder.join("node_modules");
    let stamp = node_modules.join(STAMP_FILE);
    let esbuild = esbuild_path(folder);

    let up_to_date = esbuild.is_file() && fs::read(&stamp).is_ok_and(|installed| installed == lockfile);
    if up_to_date {
        return Ok(());
    }

    check_node()?;
    println!("cargo:warning=installing npm packages (npm ci in {})", folder.display());
    let status = run_command(
        Command::new(npm_program())
            // `--include=dev` keeps esbuild even when NODE_ENV=production or
            // npm's `omit=dev` is set in the environment.
            .args(["ci", "--no-audit", "--no-fund", "--include=dev"])
            .current_dir(folder),
        "npm",
    )?;
    if !status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({status}); see its output above. It needs access to the \
             npm registry (or a populated npm cache). {NODE_HINT}",
            folder.display()
        ));
    }
    if !esbuild.is_file() {
        return Err(format!(
            "`npm ci` finished but {} is missing; is esbuild still listed in {}?",
            esbuild.display(),
            folder.join("package.json").display()
        ));
    }
    fs::write(&stamp, lockfile).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Bundles a page into `dest/<name>.js` and `dest/<name>.css`.
fn bundle(page: &Page, folder: &Path, dest: &Path) -> Result<(), String> {
    fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let script = format!("{}.js", page.name);
    let mut outfile = OsString::from("--outfile=");
    outfile.push(dest.join(&script));

    let mut command = Command::new(esbuild_path(folder));
    command
        .current_dir(folder)
        .arg(page.entry)
        .args([
            "--bundle",
            "--minify",
            "--format=iife",
            "--platform=browser",
            "--target=es2020",
            "--define:process.env.NODE_ENV=\"production\"",
            "--log-level=warning",
            // GraphQL documents are imported as their text, sent as written.
            "--loader:.graphql=text",
        ])
        // Fonts and images referenced by the CSS are inlined as data: URLs so
        // the page fetches nothing but its script and styles.
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
            folder.join(page.entry).display()
        ));
    }

    // esbuild names the CSS after the JS output file.
    for file in [script, format!("{}.css", page.name)] {
        let file = dest.join(file);
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

fn esbuild_path(folder: &Path) -> PathBuf {
    let bin = folder.join("node_modules").join(".bin");
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
