//! The files: rows in, bytes out, a chunk at a time. CSV is written with the `csv` crate (UTF-8
//! with a byte order mark, so Excel reads the Norwegian letters right; RFC 4180 quoting); XLSX
//! with `rust_xlsxwriter` in its constant memory mode, which keeps one row in memory and the
//! rest in a temporary file until the workbook is zipped into the response at the end. Either
//! way the memory held does not grow with the number of rows.
//!
//! The writer runs on a blocking thread: it takes batches of rows from a bounded channel and
//! hands chunks of the file to another, which the response body reads. When the reader of pages
//! fails, the writer ends the body with an error, so a client never takes a cut file for a
//! whole one.

use std::io::Write;

use axum::body::Bytes;
use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};
use tokio::sync::mpsc::{Receiver, Sender};

use super::{Format, columns::Cell};

/// What the reader of pages sends the writer.
pub enum Batch {
    /// The heading row, first.
    Headings(Vec<String>),
    Rows(Vec<Vec<Cell>>),
    /// Reading failed: the file must not look whole.
    Failed(String),
}

/// A chunk of the response body.
pub type Chunk = Result<Bytes, std::io::Error>;

/// How much CSV text is gathered before it is sent as one chunk.
const CHUNK_BYTES: usize = 64 * 1024;

/// The longest text an XLSX cell holds (Excel's limit); longer text is cut there.
const XLSX_MAX_CHARS: usize = 32_767;

/// The byte order mark that tells Excel a CSV file is UTF-8.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// Writes the file of `batches` in `format` to `body`, until the batches end. Run it on a
/// blocking thread.
pub fn write(format: Format, batches: Receiver<Batch>, body: Sender<Chunk>) {
    let outcome = match format {
        Format::Csv => write_csv(batches, &body),
        Format::Xlsx => write_xlsx(batches, &body),
    };
    if let Err(err) = outcome {
        tracing::warn!(%err, "an export stopped before its end");
        let _ = body.blocking_send(Err(std::io::Error::other(err)));
    }
}

/// Sends `bytes` as a chunk; `Err` when the client went away.
fn send(body: &Sender<Chunk>, bytes: Vec<u8>) -> Result<(), String> {
    body.blocking_send(Ok(Bytes::from(bytes))).map_err(|_| "the client went away".to_owned())
}

fn write_csv(mut batches: Receiver<Batch>, body: &Sender<Chunk>) -> Result<(), String> {
    let mut csv = csv::WriterBuilder::new().from_writer(BodyWriter { body, buffer: BOM.to_vec() });
    while let Some(batch) = batches.blocking_recv() {
        match batch {
            Batch::Headings(headings) => csv.write_record(&headings).map_err(|e| e.to_string())?,
            Batch::Rows(rows) => {
                for row in rows {
                    csv.write_record(row.iter().map(Cell::text)).map_err(|e| e.to_string())?;
                }
            }
            Batch::Failed(why) => return Err(why),
        }
    }
    let mut rest = csv.into_inner().map_err(|e| e.to_string())?;
    rest.flush().map_err(|e| e.to_string())
}

/// A writer that sends what it is given to the body in chunks of about `CHUNK_BYTES`: the CSV
/// text and the zipped workbook go to the client as they are made, never whole in memory.
struct BodyWriter<'a> {
    body: &'a Sender<Chunk>,
    buffer: Vec<u8>,
}

impl Write for BodyWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            send(self.body, std::mem::take(&mut self.buffer)).map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

fn write_xlsx(mut batches: Receiver<Batch>, body: &Sender<Chunk>) -> Result<(), String> {
    let failed = |e: XlsxError| e.to_string();
    let mut workbook = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory().map_err(failed)?;
    let mut row: u32 = 0;
    while let Some(batch) = batches.blocking_recv() {
        match batch {
            Batch::Headings(headings) => {
                for (column, heading) in (0u16..).zip(&headings) {
                    sheet.write_string_with_format(row, column, heading, &bold).map_err(failed)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(failed)?;
                row += 1;
            }
            Batch::Rows(rows) => {
                for cells in rows {
                    for (column, cell) in (0u16..).zip(&cells) {
                        match cell {
                            Cell::Text(text) => {
                                let text = match text.char_indices().nth(XLSX_MAX_CHARS) {
                                    Some((cut, _)) => &text[..cut],
                                    None => text,
                                };
                                sheet.write_string(row, column, text).map_err(failed)?;
                            }
                            Cell::Number(n) => {
                                sheet.write_number(row, column, *n).map_err(failed)?;
                            }
                            Cell::Empty => {}
                        }
                    }
                    row = row.checked_add(1).ok_or("too many rows for a worksheet")?;
                }
            }
            Batch::Failed(why) => return Err(why),
        }
    }
    let mut writer = BodyWriter { body, buffer: Vec::new() };
    workbook.save_to_writer(&mut writer).map_err(failed)?;
    writer.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file `format` makes of `batches`, read whole from the body.
    fn file(format: Format, batches: Vec<Batch>) -> Result<Vec<u8>, String> {
        let (rows_in, rows_out) = tokio::sync::mpsc::channel(batches.len().max(1));
        for batch in batches {
            rows_in.try_send(batch).map_err(|_| "full")?;
        }
        drop(rows_in);
        let (body_in, mut body_out) = tokio::sync::mpsc::channel(1024);
        write(format, rows_out, body_in);
        let mut bytes = Vec::new();
        while let Ok(chunk) = body_out.try_recv() {
            bytes.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
        }
        Ok(bytes)
    }

    fn sample() -> Vec<Batch> {
        vec![
            Batch::Headings(vec!["Tittel".into(), "Innbyggjarar".into()]),
            Batch::Rows(vec![
                vec![Cell::Text("Skule, \"god\"\nog trygg".into()), Cell::Number(4.0)],
                vec![Cell::Text("Æ ø å".into()), Cell::Empty],
            ]),
        ]
    }

    #[test]
    fn csv_starts_with_a_bom_and_quotes_what_needs_it() {
        let bytes = file(Format::Csv, sample()).expect("a file");
        assert!(bytes.starts_with(BOM));
        let text = String::from_utf8(bytes[BOM.len()..].to_vec()).expect("UTF-8");
        assert_eq!(text, "Tittel,Innbyggjarar\n\"Skule, \"\"god\"\"\nog trygg\",4\nÆ ø å,\n");
    }

    #[test]
    fn xlsx_is_a_zip_and_a_failure_ends_the_body_with_an_error() {
        let bytes = file(Format::Xlsx, sample()).expect("a file");
        assert!(bytes.starts_with(b"PK"), "a zip archive");
        let mut failing = sample();
        failing.push(Batch::Failed("the database went away".into()));
        for format in [Format::Csv, Format::Xlsx] {
            assert!(file(format, failing_copy(&failing)).is_err(), "{format:?}");
        }
    }

    fn failing_copy(batches: &[Batch]) -> Vec<Batch> {
        batches
            .iter()
            .map(|b| match b {
                Batch::Headings(h) => Batch::Headings(h.clone()),
                Batch::Rows(r) => Batch::Rows(r.clone()),
                Batch::Failed(w) => Batch::Failed(w.clone()),
            })
            .collect()
    }
}
