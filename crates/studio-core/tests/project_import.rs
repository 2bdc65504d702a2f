//! The importer on real fixtures and on the malformed-file corpus
//! (tests/fixtures/import, tests/bad-input/import; made by make_fixtures.py there).

use std::path::{Path, PathBuf};
use studio_core::data::import::{
    preview, ColumnMapping, EncodingSource, ImportFormat, ImportOptions, Importer, Input, Row,
};
use studio_core::progress::{CancelToken, Event, Silent};
use studio_core::project::{ImportReport, ImportSettings, Project};
use studio_core::StudioError;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/import").join(name)
}
fn bad(name: &str) -> PathBuf {
    repo().join("tests/bad-input/import").join(name)
}

fn new_project(dir: &tempfile::TempDir) -> Project {
    Project::create(&dir.path().join("p.studio")).unwrap()
}

fn import(p: &Project, path: &Path) -> studio_core::Result<ImportReport> {
    p.import(
        path,
        &ImportOptions::default(),
        None,
        &ImportSettings::default(),
        &mut Silent,
        &CancelToken::new(),
    )
}

fn texts(p: &Project) -> Vec<String> {
    p.page(&studio_core::project::PageQuery {
        limit: 1000,
        ..Default::default()
    })
    .unwrap()
    .into_iter()
    .map(|r| r.text)
    .collect()
}

const EN: [&str; 4] = [
    "A moving, beautifully acted film.",
    "Dull, slow and far too long.",
    "I would watch it again, \"twice\" even.",
    "Café scenes were the only highlight.",
];

#[test]
fn every_format_gives_the_same_texts_labels_and_ids() {
    for name in [
        "reviews.csv",
        "reviews-bom.csv",
        "reviews-semicolon.csv",
        "reviews.tsv",
        "reviews-utf16be.csv",
        "reviews.json",
        "reviews.jsonl",
        "reviews.xlsx",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let p = new_project(&dir);
        let r = import(&p, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.imported, 4, "{name}: {r:?}");
        assert_eq!(r.rejected_count, 0, "{name}: {:?}", r.rejected);
        assert_eq!(texts(&p), EN, "{name}");
        assert_eq!(r.mapping.label.as_deref(), Some("label"), "{name}");
        assert_eq!(r.mapping.id.as_deref(), Some("id"), "{name}");
        assert_eq!(r.labels_added, vec!["positive", "negative"], "{name}");
        assert_eq!(r.labelled, 4);
        // The id column names the texts.
        let id = p.resolve_text_id("3").unwrap();
        assert_eq!(p.text(id).unwrap().text, EN[2]);
        let s = p.stats().unwrap();
        assert_eq!(
            s.per_label,
            vec![("positive".into(), 2), ("negative".into(), 2)]
        );
    }
}

#[test]
fn layout_reports_what_was_detected() {
    let l = Importer::open(
        Input::Path(&fixture("reviews-semicolon.csv")),
        &Default::default(),
    )
    .unwrap()
    .layout()
    .clone();
    assert_eq!(l.delimiter, Some(';'));
    assert!(l.has_header);
    assert_eq!(l.columns, vec!["id", "text", "label"]);
    let e = l.encoding.unwrap();
    assert_eq!((e.name, e.source), ("UTF-8", EncodingSource::Detected));
    assert!(l.describe().contains("delimiter ';'"), "{}", l.describe());

    let bom = fixture("reviews-bom.csv");
    let l = Importer::open(Input::Path(&bom), &Default::default()).unwrap();
    assert_eq!(l.layout().encoding.unwrap().source, EncodingSource::Bom);
    assert_eq!(
        l.layout().columns[0],
        "id",
        "the BOM is not part of the first name"
    );

    let noheader = fixture("reviews-noheader.csv");
    let l = Importer::open(Input::Path(&noheader), &Default::default()).unwrap();
    assert!(!l.layout().has_header);
    assert_eq!(l.layout().columns, vec!["column 1", "column 2"]);
    let pv = l.preview(2).unwrap();
    assert_eq!(
        pv.rows[0],
        (1, vec![EN[0].to_string(), "positive".to_string()])
    );
    assert_eq!(l.layout().format, ImportFormat::Csv);
}

#[test]
fn legacy_encodings_are_detected_and_reported() {
    for (name, expect, first) in [
        (
            "zh-gb18030.csv",
            &["GBK", "gb18030"][..],
            "这部电影很好看，演员表演出色。",
        ),
        (
            "zh-big5.csv",
            &["Big5"][..],
            "這部電影很好看，演員表演出色。",
        ),
        (
            "ja-shift_jis.csv",
            &["Shift_JIS"][..],
            "とても面白い映画でした。",
        ),
    ] {
        let pv = preview(&fixture(name), &ImportOptions::default(), 5).unwrap();
        let enc = pv.layout.encoding.unwrap();
        assert!(expect.contains(&enc.name), "{name}: detected {}", enc.name);
        assert_eq!(pv.rows[0].1[1], first, "{name}");
    }
    // Naming the encoding overrides detection.
    let opts = ImportOptions {
        encoding: Some("gb18030".into()),
        ..Default::default()
    };
    let pv = preview(&fixture("zh-gb18030.csv"), &opts, 5).unwrap();
    assert_eq!(pv.layout.encoding.unwrap().source, EncodingSource::Given);
    assert_eq!(pv.rows.len(), 3);
}

#[test]
fn txt_is_one_text_a_line_and_blank_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let p = new_project(&dir);
    let r = import(&p, &fixture("reviews.txt")).unwrap();
    assert_eq!(r.imported, 4);
    assert_eq!(r.id_kind, studio_core::project::IdKind::RowNumber);
    assert_eq!((r.first_id, r.last_id), (Some(1), Some(4)));
    assert_eq!(texts(&p), EN);
    assert_eq!(p.resolve_text_id("2").unwrap(), 2);
}

/// The malformed corpus: each file with the error or report a person should see.
#[test]
fn malformed_corpus_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = new_project(&dir);

    // Binary data.
    let e = import(&p, &bad("binary.csv")).unwrap_err();
    assert!(matches!(e, StudioError::NotText { .. }), "{e}");
    assert!(
        e.to_string().contains("does not look like a text file"),
        "{e}"
    );
    assert!(e.is_user_error());

    // Empty file.
    let e = import(&p, &bad("empty.csv")).unwrap_err();
    assert!(matches!(e, StudioError::EmptyData { .. }), "{e}");
    assert!(e.to_string().contains("is empty"), "{e}");

    // Header only.
    let e = import(&p, &bad("header-only.csv")).unwrap_err();
    assert!(matches!(e, StudioError::HeaderOnly { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("header row (text, label) but no data rows"),
        "{e}"
    );

    // Truncated UTF-8: read as UTF-8; the cut row is rejected with its line.
    let r = import(&p, &bad("truncated-utf8.csv")).unwrap();
    assert_eq!(r.layout.encoding.unwrap().name, "UTF-8");
    assert_eq!(r.imported, 2);
    assert_eq!(r.rejected_count, 1);
    assert_eq!(r.rejected[0].line, 4);
    assert!(
        r.rejected[0].reason.contains("not valid UTF-8"),
        "{}",
        r.rejected[0]
    );
    assert!(r.rejected[0]
        .to_string()
        .contains("truncated-utf8.csv, line 4:"));

    // Ragged rows: the row with an extra comma, with file and line.
    let r = import(&p, &bad("ragged.csv")).unwrap();
    assert_eq!(r.imported, 2);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].line, 3);
    assert!(
        r.rejected[0]
            .reason
            .contains("has 3 values but the header has 2"),
        "{}",
        r.rejected[0]
    );

    // An unterminated quote swallows the rest: said plainly, with the lines.
    let r = import(&p, &bad("unterminated-quote.csv")).unwrap();
    assert_eq!(r.imported, 1);
    assert_eq!(r.rejected[0].line, 3);
    assert!(
        r.rejected[0].reason.contains("never closed, so lines 3-"),
        "{}",
        r.rejected[0]
    );

    // GBK with a Chinese header: detected, decoded, mapped by the Chinese names.
    let r = import(&p, &bad("gbk.csv")).unwrap();
    let enc = r.layout.encoding.unwrap();
    assert!(["GBK", "gb18030"].contains(&enc.name), "{}", enc.name);
    assert_eq!(r.layout.columns, vec!["编号", "文本", "标签"]);
    assert_eq!(r.mapping.text, "文本");
    assert_eq!(r.imported, 3);
    // The label set came from the first file, so these labels are reported.
    assert_eq!(r.unknown_labels.get("正面"), Some(&2));

    // UTF-16 with a BOM (its ids repeat the GBK file's, so map only text and label).
    let m = ColumnMapping {
        text: "text".into(),
        label: Some("label".into()),
        id: None,
    };
    let r = p
        .import(
            &bad("utf16le-bom.csv"),
            &ImportOptions::default(),
            Some(&m),
            &ImportSettings::default(),
            &mut Silent,
            &CancelToken::new(),
        )
        .unwrap();
    let enc = r.layout.encoding.unwrap();
    assert_eq!((enc.name, enc.source), ("UTF-16LE", EncodingSource::Bom));
    assert_eq!(r.imported, 3);
    assert_eq!(r.duplicates, 3, "same texts as the GBK file");

    // JSON cut short.
    let e = import(&p, &bad("not-json.json")).unwrap_err();
    assert!(e.to_string().contains("the JSON ends too early"), "{e}");
    // JSONL with bad lines: each rejected with its line.
    let r = import(&p, &bad("jsonl-mixed.jsonl")).unwrap();
    assert_eq!(r.imported, 2);
    let lines: Vec<u64> = r.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3]);
    assert!(r.rejected[0]
        .reason
        .contains("an array instead of an object"));
    assert!(r.rejected[1].reason.contains("is not valid JSON"));
    // Not a workbook.
    let e = import(&p, &bad("not-a-workbook.xlsx")).unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot read it as an Excel workbook"),
        "{e}"
    );

    assert_eq!(p.integrity_check().unwrap(), "ok");
}

#[test]
fn a_ten_megabyte_line_is_rejected_not_swallowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.csv");
    let mut data = b"text,label\nshort one,positive\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 10 << 20));
    data.extend_from_slice(b",negative\nanother,negative\n");
    std::fs::write(&path, &data).unwrap();
    let p = new_project(&dir);
    let r = import(&p, &path).unwrap();
    assert_eq!(r.imported, 2);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].line, 3);
    assert!(
        r.rejected[0]
            .reason
            .contains("more than the limit of 1 MiB"),
        "{}",
        r.rejected[0]
    );

    // A file that is nothing but one 10 MB line (no header, no newline).
    let path = dir.path().join("one-line.txt");
    std::fs::write(&path, vec![b'y'; 10 << 20]).unwrap();
    let e = import(&p, &path).unwrap_err();
    assert!(e.to_string().contains("no row could be imported"), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn column_mapping_errors_name_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = new_project(&dir);
    let m = ColumnMapping {
        text: "body".into(),
        label: None,
        id: None,
    };
    let e = p
        .import(
            &fixture("reviews.csv"),
            &ImportOptions::default(),
            Some(&m),
            &ImportSettings::default(),
            &mut Silent,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("has no column named \"body\" (it has: id, text, label)"),
        "{e}"
    );
    // By number.
    let m = ColumnMapping {
        text: "2".into(),
        label: Some("3".into()),
        id: None,
    };
    let r = p
        .import(
            &fixture("reviews.csv"),
            &ImportOptions::default(),
            Some(&m),
            &ImportSettings::default(),
            &mut Silent,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(r.imported, 4);
    assert_eq!(r.labelled, 4);
}

#[test]
fn duplicates_are_reported_and_mergeable_and_ids_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    std::fs::write(
        &path,
        "text,label\ngood,pos\nbad,neg\ngood,\n   ,pos\ngood,pos\nnew,\n",
    )
    .unwrap();
    let p = new_project(&dir);
    let r = import(&p, &path).unwrap();
    assert_eq!((r.imported, r.duplicates, r.skipped_empty), (5, 2, 1));
    assert_eq!(r.duplicate_examples[0].line, 4);
    assert_eq!(r.duplicate_examples[0].first_id, 1);

    let dir2 = tempfile::tempdir().unwrap();
    let p2 = new_project(&dir2);
    p2.set_label_set(&["pos".into(), "neg".into()]).unwrap();
    let path2 = dir.path().join("d2.csv");
    std::fs::write(&path2, "text,label\nnew,\ngood,\nnew,neg\n").unwrap();
    let settings = ImportSettings {
        merge_duplicates: true,
    };
    let run = |path: &Path| {
        p2.import(
            path,
            &ImportOptions::default(),
            None,
            &settings,
            &mut Silent,
            &CancelToken::new(),
        )
        .unwrap()
    };
    let r = run(&path2);
    assert_eq!((r.imported, r.merged), (2, 1));
    // The merged copy's label went to the first copy, which had none.
    assert_eq!(p2.label_of(1).unwrap().as_deref(), Some("neg"));
    let r = run(&path);
    // good x3 and new merge into the earlier copies; only "bad" is new.
    assert_eq!((r.imported, r.merged), (1, 4));
    assert_eq!(p2.label_of(2).unwrap().as_deref(), Some("pos"));
    assert_eq!(p2.stats().unwrap().total, 3);

    // Id column: empty and repeated ids are rejected with lines.
    let path3 = dir.path().join("ids.csv");
    std::fs::write(&path3, "id,text\na,one\n,two\na,three\nb,four\n").unwrap();
    let r = import(&p2, &path3).unwrap();
    assert_eq!(r.imported, 2);
    let reasons: Vec<String> = r.rejected.iter().map(|r| r.to_string()).collect();
    assert!(
        reasons[0].contains("line 3: the id column \"id\" is empty"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("line 4: the id \"a\" was already used on line 2"),
        "{reasons:?}"
    );
    let again = import(&p2, &path3).unwrap_err();
    assert!(
        again.to_string().contains("already used by text"),
        "{again}"
    );
}

#[test]
fn streaming_reports_progress_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut s = String::from("text,label\n");
    for i in 0..200_000 {
        s.push_str(&format!(
            "text number {i} with some words,{}\n",
            if i % 3 == 0 { "a" } else { "b" }
        ));
    }
    std::fs::write(&path, &s).unwrap();
    let p = new_project(&dir);
    let mut events: Vec<Event> = Vec::new();
    let r = p
        .import(
            &path,
            &Default::default(),
            None,
            &Default::default(),
            &mut events,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(r.imported, 200_000);
    assert!(
        matches!(events.first(), Some(Event::Phase { name, total: Some(t) }) if name == "import" && *t == s.len() as u64)
    );
    assert!(matches!(events.last(), Some(Event::Advance { done, .. }) if *done == s.len() as u64));

    // Cancelled: nothing is imported.
    let p2 = Project::create(&dir.path().join("p2.studio")).unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let e = p2
        .import(
            &path,
            &Default::default(),
            None,
            &Default::default(),
            &mut Silent,
            &cancel,
        )
        .unwrap_err();
    assert!(matches!(e, StudioError::Cancelled));
    assert_eq!(p2.stats().unwrap().total, 0);

    // Rows stream one at a time from bytes too.
    let bytes = b"text\none\ntwo\n";
    let imp = Importer::open(
        Input::Bytes {
            name: Path::new("x.csv"),
            bytes,
        },
        &Default::default(),
    )
    .unwrap();
    let mut got = Vec::new();
    imp.stream(&mut Silent, &CancelToken::new(), &mut |row| {
        if let Row::Record { line, fields } = row {
            got.push((line, fields[0].clone()));
        }
        Ok(std::ops::ControlFlow::Continue(()))
    })
    .unwrap();
    assert_eq!(got, vec![(2, "one".to_string()), (3, "two".to_string())]);
}

/// A workbook's sheets are listed for a sheet picker; the first is read unless another is
/// asked for, and a sheet it does not have is refused with the names it has.
#[test]
fn a_workbook_lists_its_sheets_and_reads_the_one_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let notes = book.add_worksheet().set_name("Notes").unwrap();
    notes.write_string(0, 0, "about this file").unwrap();
    let reviews = book.add_worksheet().set_name("Reviews").unwrap();
    for (r, (text, label)) in [
        ("text", "label"),
        ("great film", "positive"),
        ("dull", "negative"),
    ]
    .into_iter()
    .enumerate()
    {
        reviews.write_string(r as u32, 0, text).unwrap();
        reviews.write_string(r as u32, 1, label).unwrap();
    }
    book.save(&path).unwrap();

    let first = preview(&path, &ImportOptions::default(), 10).unwrap();
    assert_eq!(first.layout.sheets, vec!["Notes", "Reviews"]);
    assert_eq!(first.layout.sheet.as_deref(), Some("Notes"));
    let asked = ImportOptions {
        sheet: Some("Reviews".into()),
        ..ImportOptions::default()
    };
    let second = preview(&path, &asked, 10).unwrap();
    assert_eq!(second.layout.sheet.as_deref(), Some("Reviews"));
    assert_eq!(second.layout.columns, vec!["text", "label"]);
    assert_eq!(second.rows.len(), 2);
    let missing = ImportOptions {
        sheet: Some("Sheet9".into()),
        ..ImportOptions::default()
    };
    let err = preview(&path, &missing, 10).unwrap_err();
    assert!(err.to_string().contains("Notes, Reviews"), "{err}");
}
