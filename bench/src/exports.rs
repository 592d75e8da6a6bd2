//! X1: exports. All the needs the public sees on the database, as CSV and then as XLSX, through
//! `needsExport`'s link, read by the client as fast as it comes. Reports rows per second and the
//! hub's resident memory before and at its highest while the file streams (sampled from `/proc`
//! every 20 ms): constant memory is the claim, so the growth should not follow the rows. The
//! whole RSS counts the pages of the database SQLite maps into memory (each pooled connection
//! maps the file), which grow as the export reads the table, so the anonymous part (`RssAnon`:
//! the heap, where pages and rows live) is reported apart: that is the export's own memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::process::{self, Server};

/// One export's figures.
pub struct X1Row {
    pub format: &'static str,
    /// Data rows in the file (CSV: counted in it; XLSX: the count the export was priced by).
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub rss_before_mib: f64,
    pub rss_peak_mib: f64,
    pub anon_before_mib: f64,
    pub anon_peak_mib: f64,
    pub first_error: Option<String>,
}

impl X1Row {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }

    pub fn anon_growth_mib(&self) -> f64 {
        (self.anon_peak_mib - self.anon_before_mib).max(0.0)
    }
}

pub const X1_HEADER: &str = "| X1 export | rows | rows/s | MiB | seconds | hub RSS before MiB | hub RSS peak MiB | heap (RssAnon) before MiB | heap peak MiB | heap growth MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

pub fn x1_row(r: &X1Row) -> String {
    format!(
        "| needs as {} | {} | {:.0} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        r.format,
        r.rows,
        r.rows_per_second(),
        r.bytes as f64 / (1024.0 * 1024.0),
        r.seconds,
        r.rss_before_mib,
        r.rss_peak_mib,
        r.anon_before_mib,
        r.anon_peak_mib,
        r.anon_growth_mib()
    )
}

async fn graphql(client: &reqwest::Client, hub: &Server, query: &str) -> Result<Value, String> {
    let body: Value = client
        .post(format!("{}/graphql", hub.base))
        .json(&json!({ "query": query }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    match body.get("errors") {
        Some(errors) => Err(errors.to_string()),
        None => Ok(body["data"].clone()),
    }
}

/// Counts the records of CSV text fed in chunks: newlines outside quotes.
#[derive(Default)]
struct CsvRecords {
    quoted: bool,
    records: u64,
}

impl CsvRecords {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => self.records += 1,
                _ => {}
            }
        }
    }
}

/// Exports every need the public sees, as CSV and as XLSX.
pub async fn x1(client: &reqwest::Client, hub: &Server) -> Vec<X1Row> {
    let mut rows = Vec::new();
    for format in ["CSV", "XLSX"] {
        rows.push(match export(client, hub, format).await {
            Ok(row) => row,
            Err(e) => X1Row {
                format: if format == "CSV" { "CSV" } else { "XLSX" },
                rows: 0,
                bytes: 0,
                seconds: 0.0,
                rss_before_mib: 0.0,
                rss_peak_mib: 0.0,
                anon_before_mib: 0.0,
                anon_peak_mib: 0.0,
                first_error: Some(e),
            },
        });
    }
    rows
}

async fn export(client: &reqwest::Client, hub: &Server, format: &'static str) -> Result<X1Row, String> {
    let expected = graphql(client, hub, "{ needs(first: 1) { totalCount } }").await?["needs"]["totalCount"]
        .as_u64()
        .unwrap_or_default();
    let data = graphql(client, hub, &format!("{{ needsExport(format: {format}) {{ url }} }}")).await?;
    let url = data["needsExport"]["url"].as_str().ok_or("no url")?.to_owned();
    let pid = hub.child.id();
    let (rss_before_mib, anon_before_mib) = (process::rss_mib(pid), process::rss_anon_mib(pid));
    // The peaks in KiB, sampled until the download ends.
    let kib = |mib: f64| (mib * 1024.0) as u64;
    let peak = Arc::new(AtomicU64::new(kib(rss_before_mib)));
    let anon_peak = Arc::new(AtomicU64::new(kib(anon_before_mib)));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, anon_peak, done) = (peak.clone(), anon_peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(kib(process::rss_mib(pid)), Ordering::Relaxed);
                anon_peak.fetch_max(kib(process::rss_anon_mib(pid)), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let mut response = client.get(&url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let mut bytes = 0u64;
    let mut records = CsvRecords::default();
    let mut first_error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                bytes += chunk.len() as u64;
                if format == "CSV" {
                    records.feed(&chunk);
                }
            }
            Ok(None) => break,
            Err(e) => {
                first_error = Some(format!("the download broke off: {e}"));
                break;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    if !status.is_success() {
        first_error = Some(format!("HTTP {status}"));
    }
    // The heading row is not a need.
    let rows = if format == "CSV" { records.records.saturating_sub(1) } else { expected };
    if format == "CSV" && rows != expected && first_error.is_none() {
        first_error = Some(format!("{rows} rows in the file, {expected} needs in the API"));
    }
    Ok(X1Row {
        format,
        rows,
        bytes,
        seconds,
        rss_before_mib,
        rss_peak_mib: peak.load(Ordering::Relaxed) as f64 / 1024.0,
        anon_before_mib,
        anon_peak_mib: anon_peak.load(Ordering::Relaxed) as f64 / 1024.0,
        first_error,
    })
}
