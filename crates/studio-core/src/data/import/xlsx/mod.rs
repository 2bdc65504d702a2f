//! Excel workbooks (.xlsx) through calamine, cell by cell.
//!
//! calamine's cell reader streams the sheet's XML out of the zip, so a sheet of a
//! million rows never sits in memory as a grid; the shared-string table does.

use super::{
    sniff, ImportFormat, ImportOptions, Input, Layout, Progress, RejectCode, Rejected, Row,
};
use crate::{Result, StudioError};
use calamine::{open_workbook_from_rs, DataRef, Reader, Xlsx};
use std::io::{BufReader, Cursor, Read, Seek};
use std::ops::ControlFlow;
use std::path::Path;

mod refs;

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

/// The most a workbook part may expand to. A real sheet of a million short reviews is
/// a few hundred MB; anything bigger is refused before calamine reads it.
pub const MAX_PART_BYTES: u64 = 1 << 30;
/// The most the shared-string table may expand to (calamine holds it in memory whole).
pub const MAX_SHARED_STRINGS_BYTES: u64 = 256 << 20;
/// The most shared strings a workbook may declare.
pub const MAX_SHARED_STRINGS: u64 = 20_000_000;
/// A part that expands more than this many times is a zip bomb, not a spreadsheet
/// (text XML compresses about 5 to 20 times).
pub const MAX_EXPANSION: u64 = 200;

/// Refuses a workbook that would make its reader allocate without bound, before calamine
/// sees it: a part that expands beyond [`MAX_PART_BYTES`] or [`MAX_EXPANSION`] times, a
/// shared-string table over [`MAX_SHARED_STRINGS_BYTES`], or one that declares more
/// strings than it could hold (calamine reserves room for the declared count: a
/// 1.7 KB file declaring four billion strings asked for 103 GB and aborted the process);
/// and a part with a cell reference calamine cannot read safely ([`refs`]).
fn check_workbook<RS: Read + Seek>(rs: RS, path: &Path) -> Result<()> {
    let refuse = |reason: String| {
        StudioError::BadFile {
        path: path.to_path_buf(),
        reason: format!(
            "{reason}; this is not a workbook we will read. If it is a real spreadsheet, open it in Excel or LibreOffice and save the sheet as .csv"
        ),
    }
    };
    let mut zip = zip::ZipArchive::new(rs).map_err(|e| bad(path, e))?;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| bad(path, e))?;
        let name = part.name().map_err(|e| bad(path, e))?.into_owned();
        let (size, packed) = (part.size(), part.compressed_size());
        if size > MAX_PART_BYTES {
            return Err(refuse(format!(
                "its part {name} expands to {size} bytes, over the limit of {MAX_PART_BYTES}"
            )));
        }
        if size > (16 << 20) && size / packed.max(1) > MAX_EXPANSION {
            return Err(refuse(format!(
                "its part {name} expands {} times ({packed} bytes to {size}), like a zip bomb",
                size / packed.max(1)
            )));
        }
    }
    // Every part, whatever its name: calamine finds a sheet through the workbook's
    // relationships, which may name any part, and matches part names ignoring case.
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| bad(path, e))?;
        let name = part.name().map_err(|e| bad(path, e))?.into_owned();
        refs::check_part(part, &name).map_err(|e| match e {
            refs::PartError::Io(io) => bad(path, io),
            refs::PartError::Reference(reason) => refuse(reason),
        })?;
    }
    let Ok(mut strings) = zip.by_name("xl/sharedStrings.xml") else {
        return Ok(());
    };
    let size = strings.size();
    if size > MAX_SHARED_STRINGS_BYTES {
        return Err(refuse(format!(
            "its shared-string table expands to {size} bytes, over the limit of {MAX_SHARED_STRINGS_BYTES}"
        )));
    }
    let mut head = Vec::with_capacity(4096);
    (&mut strings)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| bad(path, e))?;
    let head = String::from_utf8_lossy(&head);
    for attr in ["uniqueCount", "count"] {
        let Some(declared) = declared_count(&head, attr) else {
            continue;
        };
        // An entry is at least `<si><t/></si>` (13 bytes).
        if declared > MAX_SHARED_STRINGS || declared > size / 13 + 1 {
            return Err(refuse(format!(
                "it declares {declared} shared strings ({attr}) in a table of {size} bytes"
            )));
        }
    }
    Ok(())
}

/// The number in `attr="…"` of the `<sst …>` element at the start of `xml`; `None` when
/// absent. A number too big for u64 reads as `u64::MAX` (and is refused).
fn declared_count(xml: &str, attr: &str) -> Option<u64> {
    let sst = xml.find("<sst")?;
    let end = xml[sst..].find('>').map_or(xml.len(), |e| sst + e);
    let tag = &xml[sst..end];
    let at = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    let digits: String = tag[at..].chars().take_while(char::is_ascii_digit).collect();
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// Visits the sheet's rows as (0-based row index, values); stops when `f` says so.
fn rows_of<RS: Read + Seek>(
    mut rs: RS,
    path: &Path,
    sheet: Option<&str>,
    f: &mut dyn FnMut(u32, Vec<String>, u32) -> Result<ControlFlow<()>>,
) -> Result<(String, Vec<String>)> {
    check_workbook(&mut rs, path)?;
    rs.seek(std::io::SeekFrom::Start(0))
        .map_err(|e| StudioError::io("read", path, e))?;
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
                    return Ok((name, names));
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
    Ok((name, names))
}

/// Receives (0-based row index, values, last row index of the sheet).
type RowFn<'f> = dyn FnMut(u32, Vec<String>, u32) -> Result<ControlFlow<()>> + 'f;
/// Reads the sheet, calling a [`RowFn`]; returns the sheet's name and every sheet's.
type ReadFn<'f> = dyn FnMut(&mut RowFn<'_>) -> Result<(String, Vec<String>)> + 'f;

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
    let (sheet, sheets) = with_reader(
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
            sheets,
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
                        code: RejectCode::ExtraCells,
                        args: super::reject_args([("width", &width)]),
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
