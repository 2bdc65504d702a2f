//! Hostile files: workbooks built part by part (valid zips with hostile contents) and
//! JSON arrays with damaged rows. Each must end in a clear error or a rejected row,
//! never an abort, a panic or an allocation the file merely asked for.

use std::io::{Read, Write};
use std::path::Path;
use studio_core::data::import::{ImportOptions, Input};
use studio_core::progress::{CancelToken, Silent};
use studio_core::project::{ImportReport, ImportSettings, Project};

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:A3"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row><row r="3"><c r="A3" t="s"><v>2</v></c></row></sheetData></worksheet>"#;

/// A workbook whose shared-string table is `head` followed by `filler` bytes of `fill`
/// and then `tail`.
fn workbook(path: &Path, head: &str, fill: u8, filler: u64, tail: &str) {
    workbook_with_sheet(path, SHEET, head, fill, filler, tail);
}

/// [`workbook`] with the sheet's XML given too.
fn workbook_with_sheet(path: &Path, sheet: &str, head: &str, fill: u8, filler: u64, tail: &str) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(filler > u32::MAX as u64);
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", sheet),
    ] {
        z.start_file(name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.start_file("xl/sharedStrings.xml", opts).unwrap();
    z.write_all(head.as_bytes()).unwrap();
    std::io::copy(&mut std::io::repeat(fill).take(filler), &mut z).unwrap();
    z.write_all(tail.as_bytes()).unwrap();
    z.finish().unwrap();
}

const SST_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3">"#;
const SST_BODY: &str =
    "<si><t>text</t></si><si><t>a good film</t></si><si><t>an awful film</t></si></sst>";

fn import(path: &Path) -> studio_core::Result<ImportReport> {
    let dir = path.parent().unwrap();
    let p = Project::create(&dir.join(format!(
        "{}.studio",
        path.file_name().unwrap().to_string_lossy()
    )))
    .unwrap();
    p.import(
        path,
        &ImportOptions::default(),
        None,
        &ImportSettings::default(),
        &mut Silent,
        &CancelToken::new(),
    )
}

#[test]
fn a_workbook_built_part_by_part_imports() {
    // The builder makes a real workbook: the hostile ones below differ only in the
    // shared-string table.
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.xlsx");
    workbook(&ok, SST_OPEN, b' ', 0, SST_BODY);
    let r = import(&ok).unwrap();
    assert_eq!(r.imported, 2);
}

#[test]
fn a_workbook_declaring_billions_of_strings_is_refused_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liar.xlsx");
    let head = SST_OPEN.replace(r#"uniqueCount="3""#, r#"uniqueCount="4000000000""#);
    workbook(&path, &head, b' ', 0, SST_BODY);
    assert!(std::fs::metadata(&path).unwrap().len() < 4096);
    let err = import(&path).unwrap_err();
    assert_eq!(err.code(), "badFile", "{err}");
    assert!(
        err.to_string()
            .contains("declares 4000000000 shared strings"),
        "{err}"
    );
    // Through every reader that takes a file, not only the project import.
    let err = studio_core::data::read_texts(&path, None).unwrap_err();
    assert_eq!(err.code(), "badFile", "{err}");
}

#[test]
fn a_shared_strings_zip_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    // 300 MiB of spaces inside the table compress to well under 1 MB.
    workbook(&path, SST_OPEN, b' ', 300 << 20, SST_BODY);
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    let err = import(&path).unwrap_err();
    assert_eq!(err.code(), "badFile", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("sharedStrings.xml") || msg.contains("shared-string table"),
        "{msg}"
    );
}

#[test]
fn hostile_bytes_in_memory_are_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liar.xlsx");
    let head = SST_OPEN.replace(r#"count="3""#, r#"count="99999999999999999999999""#);
    workbook(&path, &head, b' ', 0, SST_BODY);
    let bytes = std::fs::read(&path).unwrap();
    let p = Project::create(&dir.path().join("m.studio")).unwrap();
    let err = p
        .import_input(
            Input::Bytes {
                name: Path::new("pasted.xlsx"),
                bytes: &bytes,
            },
            &ImportOptions::default(),
            None,
            &ImportSettings::default(),
            &mut Silent,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "badFile", "{err}");
}

/// 21 rows, the 11th with a text cut in the middle of a UTF-8 character.
fn damaged_rows() -> Vec<Vec<u8>> {
    (1..=21)
        .map(|i| {
            let mut text = format!("第{i}条评论，这部电影很好看").into_bytes();
            if i == 11 {
                // "坏" is E5 9D 8F: keep the first two bytes only.
                text.extend_from_slice(&[0xE5, 0x9D]);
            }
            let mut row = br#"{"text": ""#.to_vec();
            row.extend(text);
            row.extend_from_slice(br#"", "label": "positive"}"#);
            row
        })
        .collect()
}

#[test]
fn a_json_array_rejects_a_damaged_row_as_jsonl_does() {
    let dir = tempfile::tempdir().unwrap();
    let rows = damaged_rows();
    let jsonl = dir.path().join("rows.jsonl");
    std::fs::write(&jsonl, rows.join(&b'\n')).unwrap();
    let array = dir.path().join("rows.json");
    let mut bytes = b"[\n".to_vec();
    bytes.extend(rows.join(&b",\n"[..]));
    bytes.extend_from_slice(b"\n]\n");
    std::fs::write(&array, bytes).unwrap();
    for (path, line) in [(&jsonl, 11), (&array, 12)] {
        let r = import(path).unwrap();
        assert_eq!(r.imported, 20, "{}", path.display());
        assert_eq!(r.rejected.len(), 1, "{}: {:?}", path.display(), r.rejected);
        assert_eq!(r.rejected[0].line, line, "{:?}", r.rejected[0]);
        assert!(
            r.rejected[0].reason.contains("not valid UTF-8"),
            "{:?}",
            r.rejected[0]
        );
    }
}

#[test]
fn a_json_array_element_over_the_row_limit_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.json");
    let long = "x".repeat(2 << 20);
    std::fs::write(
        &path,
        format!(r#"[{{"text": "short"}}, {{"text": "{long}"}}, {{"text": "also short"}}]"#),
    )
    .unwrap();
    let r = import(&path).unwrap();
    assert_eq!(r.imported, 2);
    assert!(
        r.rejected[0]
            .reason
            .contains("more than the limit of 1 MiB"),
        "{:?}",
        r.rejected
    );
}

#[test]
fn a_label_column_with_too_many_values_or_bad_names_is_not_adopted_blindly() {
    let dir = tempfile::tempdir().unwrap();
    // Someone picked the id column as labels: every value differs.
    let path = dir.path().join("ids.csv");
    let mut csv = String::from("text,label\n");
    for i in 0..300 {
        csv.push_str(&format!("text {i},id-{i}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    let err = import(&path).unwrap_err();
    assert!(
        err.to_string().contains("more than 200 different values"),
        "{err}"
    );
    // A label of 300 characters is not made a label; its text still imports.
    let path = dir.path().join("odd.csv");
    let odd = "n".repeat(300);
    std::fs::write(
        &path,
        format!("text,label\ngood,positive\nbad,{odd}\nfine,negative\n"),
    )
    .unwrap();
    let r = import(&path).unwrap();
    assert_eq!(r.imported, 3);
    assert_eq!(r.labels_added, ["positive", "negative"]);
    assert_eq!(r.unknown_labels.len(), 1, "{:?}", r.unknown_labels);
}

#[test]
fn a_header_of_thousands_of_equal_names_gets_unique_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    let width = 20_000;
    let header = std::iter::once("text")
        .chain(std::iter::repeat_n("x", width))
        .collect::<Vec<_>>()
        .join(",");
    let row = std::iter::once("a review")
        .chain(std::iter::repeat_n("1", width))
        .collect::<Vec<_>>()
        .join(",");
    std::fs::write(&path, format!("{header}\n{row}\n")).unwrap();
    let pv = studio_core::data::import::preview(&path, &ImportOptions::default(), 1).unwrap();
    let cols = &pv.layout.columns;
    assert_eq!(cols.len(), width + 1);
    assert_eq!((&cols[1][..], &cols[2][..]), ("x", "x (2)"));
    assert_eq!(cols[width], format!("x ({width})"));
    let unique: std::collections::HashSet<&String> = cols.iter().collect();
    assert_eq!(unique.len(), cols.len());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: fuzz_cases(96), ..Default::default() })]

    /// Valid zips with hostile contents: any declared counts, any cell positions and
    /// references, any text in the cells and the table. The import ends in rows or an
    /// error, never a panic or an abort.
    #[test]
    fn structurally_valid_workbooks_with_hostile_contents_never_crash(
        count in proptest::prop_oneof![
            proptest::prelude::Just("3".to_string()),
            "[0-9]{1,25}",
            "-?[0-9a-z]{0,6}",
        ],
        cells in proptest::collection::vec(
            ("[A-Z]{1,4}", 0u64..2_000_000, "[0-9]{1,12}|[a-z<>&;\\\"]{0,8}", proptest::prop_oneof![
                proptest::prelude::Just("s"),
                proptest::prelude::Just("str"),
                proptest::prelude::Just("n"),
                proptest::prelude::Just("b"),
                proptest::prelude::Just("inlineStr"),
            ]),
            0..12,
        ),
        dimension in "[A-Z]{1,3}[0-9]{1,8}(:[A-Z]{1,3}[0-9]{1,8})?",
        strings in proptest::collection::vec("[ -~]{0,20}", 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.xlsx");
        let mut sheet = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>"#
        );
        for (col, row, value, kind) in &cells {
            sheet.push_str(&format!(r#"<row r="{row}"><c r="{col}{row}" t="{kind}"><v>{value}</v></c></row>"#));
        }
        sheet.push_str("</sheetData></worksheet>");
        let head = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}" uniqueCount="{count}">"#
        );
        let mut tail = String::new();
        for t in &strings {
            let t = t.replace('&', "&amp;").replace('<', "&lt;");
            tail.push_str(&format!("<si><t>{t}</t></si>"));
        }
        tail.push_str("</sst>");
        workbook_with_sheet(&path, &sheet, &head, b' ', 0, &tail);
        let _ = import(&path);
    }
}

/// Cases per property: `default`, or `STUDIO_FUZZ_CASES` (scripts/fuzz runs many more).
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("STUDIO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A PyTorch weights file of a few KB whose pickle declares a tensor of 2^31 × 16
/// floats (137 GB): candle would allocate that before reading a byte. It is refused.
#[test]
fn a_pickle_declaring_a_giant_tensor_is_refused_not_allocated() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-bert-bin");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["config.json", "vocab.txt"] {
        std::fs::copy(fixture.join(f), model.join(f)).unwrap();
    }
    // Copy the weights, changing the shape (29, 16) of the word embeddings to
    // (2147483647, 16) in data.pkl: `K 29` becomes `J 0x7fffffff`.
    let mut src =
        zip::ZipArchive::new(std::fs::File::open(fixture.join("pytorch_model.bin")).unwrap())
            .unwrap();
    let out = std::fs::File::create(model.join("pytorch_model.bin")).unwrap();
    let mut dst = zip::ZipWriter::new(out);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut patched = false;
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name.ends_with("data.pkl") {
            let needle = [b'K', 29, b'K', 16, 0x86];
            let at = bytes
                .windows(5)
                .position(|w| w == needle)
                .expect("the embedding shape");
            bytes.splice(at..at + 2, [b'J', 0xff, 0xff, 0xff, 0x7f]);
            patched = true;
        }
        dst.start_file(name, stored).unwrap();
        dst.write_all(&bytes).unwrap();
    }
    dst.finish().unwrap();
    assert!(patched);
    let folder = studio_core::models::ModelFolder::open(&model).unwrap();
    let err = folder.load_tensors(&candle_core::Device::Cpu).unwrap_err();
    assert_eq!(err.code(), "unsupportedModel", "{err}");
    assert!(err.to_string().contains("declare"), "{err}");
    // The untouched file still loads.
    let good = studio_core::models::ModelFolder::open(&fixture).unwrap();
    assert!(good.load_tensors(&candle_core::Device::Cpu).is_ok());
}

/// A file over the size limit is refused before a byte of it is read (a sparse file:
/// nothing is written to disk).
#[test]
fn a_file_over_the_size_limit_is_refused_before_reading() {
    use studio_core::data::import::MAX_FILE_BYTES;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.csv");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_FILE_BYTES + 1).unwrap();
    let err = import(&path).unwrap_err();
    assert_eq!(err.code(), "badFile", "{err}");
    assert!(err.to_string().contains("over the limit of 4 GiB"), "{err}");
}

/// A file of more rows than one import takes is refused at the row that passes the
/// limit, with the limit and what to do in the message.
#[test]
fn a_file_over_the_row_limit_is_refused() {
    use studio_core::data::import::{Importer, MAX_IMPORT_ROWS};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.csv");
    let mut body = String::from("text\n");
    body.push_str(&"x\n".repeat(MAX_IMPORT_ROWS as usize + 1));
    std::fs::write(&path, body).unwrap();
    let importer = Importer::open(Input::Path(&path), &ImportOptions::default()).unwrap();
    let mut rows = 0u64;
    let err = importer
        .stream(&mut Silent, &CancelToken::new(), &mut |_| {
            rows += 1;
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .unwrap_err();
    assert_eq!(rows, MAX_IMPORT_ROWS);
    assert_eq!(err.code(), "badFile", "{err}");
    assert!(
        err.to_string().contains("more than 5000000 rows") && err.to_string().contains("split"),
        "{err}"
    );
}

/// A cell reference past the last column or row (calamine multiplies it up without a
/// bound: found by the coverage-guided fuzzer) is refused with a clear error; a
/// workbook at the very last cell still imports.
#[test]
fn a_cell_reference_past_the_last_column_or_row_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let strings = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3"><si><t>text</t></si><si><t>good film</t></si><si><t>bad film</t></si></sst>"#;
    for (i, bad) in ["AAAAAAAAAAAAAAA2", "A123456789012", "$XFDA$2"]
        .iter()
        .enumerate()
    {
        let sheet = SHEET.replace("r=\"A2\"", &format!("r=\"{bad}\""));
        assert_ne!(sheet, SHEET);
        let path = dir.path().join(format!("bad{i}.xlsx"));
        workbook_with_sheet(&path, &sheet, strings, b' ', 0, "");
        let err = import(&path).unwrap_err();
        assert_eq!(err.code(), "badFile", "{bad}: {err}");
        assert!(err.to_string().contains("past the last column"), "{err}");
    }
    let dim = SHEET.replace("ref=\"A1:A3\"", "ref=\"A1:ZZZZZZZZZZ3\"");
    let path = dir.path().join("dimension.xlsx");
    workbook_with_sheet(&path, &dim, strings, b' ', 0, "");
    assert_eq!(import(&path).unwrap_err().code(), "badFile");
    // The last column and row are fine.
    let last = SHEET.replace("ref=\"A1:A3\"", "ref=\"A1:XFD3\"");
    let path = dir.path().join("last.xlsx");
    workbook_with_sheet(&path, &last, strings, b' ', 0, "");
    import(&path).unwrap();
}

/// The fuzzer's ways around a check that looked for `r="` in parts named
/// `xl/worksheets/*.xml`: calamine finds the sheet part ignoring case, reads attributes
/// in single quotes and with spaces around `=`, and subtracts a range's start from its
/// end. Each is refused with a clear error (each panicked calamine in a build with
/// overflow checks); a review whose text reads like a reference still imports.
#[test]
fn cell_references_are_checked_however_the_part_and_attribute_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let strings = format!("{SST_OPEN}{SST_BODY}");
    let cases = [
        (
            "xl/worksheets/sheet1.xmL",
            SHEET.replace("r=\"A2\"", "r=\"AAAAAAAAAAAAAA2\""),
            "past the last column",
        ),
        (
            "xl/worksheets/sheet1.xml",
            SHEET.replace("r=\"A2\"", "r = 'AAAAAAAAAAAAAA2'"),
            "past the last column",
        ),
        (
            "xl/worksheets/sheet1.xml",
            SHEET.replace("<row r=\"2\">", "<row r='12345678901'>"),
            "past the last column",
        ),
        (
            "xl/worksheets/sheet1.xml",
            SHEET.replace("ref=\"A1:A3\"", "ref=\"B3:A1\""),
            "ends before it starts",
        ),
    ];
    for (i, (part, sheet, expected)) in cases.iter().enumerate() {
        assert_ne!(sheet, SHEET);
        let path = dir.path().join(format!("case{i}.xlsx"));
        workbook_parts(
            &path,
            &[(part, sheet.as_str()), ("xl/sharedStrings.xml", &strings)],
        );
        let err = import(&path).unwrap_err();
        assert_eq!(err.code(), "badFile", "case {i}: {err}");
        assert!(err.to_string().contains(expected), "case {i}: {err}");
    }
    let quoting = format!(
        "{SST_OPEN}<si><t>text</t></si><si><t>he wrote r=\"AAAAAAAAAAAA1\" here</t></si><si><t>ref='B2:A1' too</t></si></sst>"
    );
    let path = dir.path().join("quoting.xlsx");
    workbook_parts(
        &path,
        &[
            ("xl/worksheets/sheet1.xml", SHEET),
            ("xl/sharedStrings.xml", &quoting),
        ],
    );
    assert_eq!(import(&path).unwrap().imported, 2);
}

/// A workbook of the fixed parts and `parts` (name, XML), stored as they are.
fn workbook_parts(path: &Path, parts: &[(&str, &str)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let fixed = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ];
    for (name, body) in fixed.iter().chain(parts) {
        z.start_file(*name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}
