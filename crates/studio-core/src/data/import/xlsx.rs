//! Excel workbooks (.xlsx) through calamine, cell by cell.
//!
//! calamine's cell reader streams the sheet's XML out of the zip, so a sheet of a
//! million rows never sits in memory as a grid; the shared-string table does.

use super::{sniff, ImportFormat, ImportOptions, Input, Layout, Progress, Rejected, Row};
use crate::{Result, StudioError};
use calamine::{open_workbook_from_rs, DataRef, Reader, Xlsx};
use std::io::{BufReader, Cursor, Read, Seek};
use std::ops::ControlFlow;
use std::path::Path;

fn bad(path: &Path, e: impl std::fmt::Display) -> StudioError {
    StudioError::BadFile {
        path: path.to_path_buf(),
        reason: format!(
            "cannot read it as an Excel workbook ({e}); open it in Excel or LibreOffice and save it again as .xlsx, or save the sheet as .csv"
        ),
    }
}

fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e}"),
        DataRef::Empty => String::new(),
    }
}

/// Visits the sheet's rows as (0-based row index, values); stops when `f` says so.
fn rows_of<RS: Read + Seek>(
    rs: RS,
    path: &Path,
    sheet: Option<&str>,
    f: &mut dyn FnMut(u32, Vec<String>, u32) -> Result<ControlFlow<()>>,
) -> Result<String> {
    let mut wb: Xlsx<RS> = open_workbook_from_rs(rs).map_err(|e| bad(path, e))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                StudioError::InvalidSetting(format!(
                    "{} has no sheet named \"{s}\"; its sheets are: {}",
                    path.display(),
                    names.join(", ")
                ))
            })?,
        None => names.first().cloned().ok_or_else(|| StudioError::BadFile {
            path: path.to_path_buf(),
            reason: "the workbook has no sheets".into(),
        })?,
    };
    let mut cells = wb.worksheet_cells_reader(&name).map_err(|e| bad(path, e))?;
    let last_row = cells.dimensions().end.0;
    let mut cur: Option<u32> = None;
    let mut row: Vec<String> = Vec::new();
    loop {
        let cell = cells.next_cell().map_err(|e| bad(path, e))?;
        let pos = cell.as_ref().map(|c| c.get_position());
        if cur.is_some() && pos.map(|p| p.0) != cur {
            let r = std::mem::take(&mut row);
            if let Some(ri) = cur {
                if !r.iter().all(|v| v.trim().is_empty()) && f(ri, r, last_row)?.is_break() {
                    return Ok(name);
                }
            }
        }
        let Some(cell) = cell else { break };
        let (ri, ci) = cell.get_position();
        cur = Some(ri);
        let ci = ci as usize;
        if ci >= 16_384 {
            continue;
        }
        if row.len() <= ci {
            row.resize(ci + 1, String::new());
        }
        row[ci] = cell_text(cell.get_value());
    }
    Ok(name)
}

/// Receives (0-based row index, values, last row index of the sheet).
type RowFn<'f> = dyn FnMut(u32, Vec<String>, u32) -> Result<ControlFlow<()>> + 'f;
/// Reads the sheet, calling a [`RowFn`]; returns the sheet's name.
type ReadFn<'f> = dyn FnMut(&mut RowFn<'_>) -> Result<String> + 'f;

fn with_reader<T>(
    input: &Input<'_>,
    go: &mut dyn FnMut(&mut ReadFn<'_>) -> Result<T>,
    sheet: Option<&str>,
) -> Result<T> {
    match input {
        Input::Path(p) => go(&mut |f| {
            let file = std::fs::File::open(p).map_err(|e| StudioError::io("open", *p, e))?;
            rows_of(BufReader::new(file), p, sheet, f)
        }),
        Input::Bytes { name, bytes } => go(&mut |f| rows_of(Cursor::new(*bytes), name, sheet, f)),
    }
}

/// Sniffs the sheet: header row and column names.
pub(crate) fn sniff(
    input: &Input<'_>,
    opts: &ImportOptions,
    size_bytes: u64,
) -> Result<(Layout, u64)> {
    let path = input.path().to_path_buf();
    let mut sample: Vec<Vec<String>> = Vec::new();
    let sheet = with_reader(
        input,
        &mut |read| {
            read(&mut |_, r, _| {
                sample.push(r);
                Ok(if sample.len() >= 50 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            })
        },
        opts.sheet.as_deref(),
    )?;
    if sample.is_empty() {
        return Err(StudioError::EmptyData { path });
    }
    let has_header = opts
        .has_header
        .unwrap_or_else(|| sniff::has_header(&sample));
    let width = if has_header {
        sniff::width(&sample, true)
    } else {
        sample.iter().map(|r| r.len()).max().unwrap_or(1)
    };
    let columns = sniff::column_names(sample.first(), has_header, width);
    Ok((
        Layout {
            path,
            format: ImportFormat::Xlsx,
            encoding: None,
            delimiter: None,
            has_header,
            columns,
            sheet: Some(sheet),
            size_bytes,
        },
        u64::from(has_header),
    ))
}

/// Streams the sheet's rows.
pub(crate) fn stream(
    input: &Input<'_>,
    layout: &Layout,
    header_lines: u64,
    progress: &mut Progress<'_>,
    f: &mut dyn FnMut(Row) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let width = layout.columns.len();
    let total = layout.size_bytes;
    let mut skip = header_lines;
    with_reader(
        input,
        &mut |read| {
            read(&mut |ri, mut fields, last_row| {
                progress.tick(|| total * u64::from(ri) / u64::from(last_row.max(1)))?;
                if skip > 0 {
                    skip -= 1;
                    return Ok(ControlFlow::Continue(()));
                }
                let line = u64::from(ri) + 1;
                let extra = fields.iter().skip(width).any(|v| !v.trim().is_empty());
                let row = if extra {
                    Row::Rejected(Rejected {
                        file: layout.path.clone(),
                        line,
                        reason: format!(
                            "has values beyond the {width} columns of the {}; move them into a named column or delete them",
                            if layout.has_header { "header" } else { "first rows" }
                        ),
                    })
                } else {
                    fields.resize(width, String::new());
                    Row::Record { line, fields }
                };
                f(row)
            })
        },
        layout.sheet.as_deref(),
    )?;
    Ok(())
}
