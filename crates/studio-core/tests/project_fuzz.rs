//! Property tests of the importer on arbitrary bytes: every format, no panic, and every
//! record has one value per column. The cargo-fuzz targets in fuzz/ do the same at
//! length; this runs in every `cargo test`.

use proptest::prelude::*;
use std::ops::ControlFlow;
use std::path::Path;
use studio_core::data::import::{ImportOptions, Importer, Input, Row};
use studio_core::progress::{CancelToken, Silent};

fn run(name: &str, data: &[u8]) {
    let input = Input::Bytes {
        name: Path::new(name),
        bytes: data,
    };
    let Ok(importer) = Importer::open(input, &ImportOptions::default()) else {
        return;
    };
    let width = importer.layout().columns.len();
    let _ = importer.stream(&mut Silent, &CancelToken::new(), &mut |row| {
        if let Row::Record { fields, .. } = &row {
            assert_eq!(fields.len(), width);
        }
        Ok(ControlFlow::Continue(()))
    });
}

/// Bytes that look like a table more often than uniform noise does.
fn tableish() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(b",".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"text,label\n".to_vec()),
        Just(b"{\"text\": \"a\"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just("café 你好".as_bytes().to_vec()),
        Just(vec![0xEF, 0xBB, 0xBF]),
        Just(vec![0xFF, 0xFE]),
        Just(vec![0xC4, 0xE3, 0xBA, 0xC3]),
        prop::collection::vec(any::<u8>(), 0..8),
        "[a-z ]{0,12}".prop_map(|s| s.into_bytes()),
    ];
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(400), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        for ext in ["csv", "tsv", "json", "jsonl", "txt", "xlsx"] {
            run(&format!("x.{ext}"), &data);
        }
    }

    #[test]
    fn tableish_bytes_never_panic(data in tableish()) {
        for ext in ["csv", "tsv", "json", "jsonl", "txt"] {
            run(&format!("x.{ext}"), &data);
        }
    }
}

/// Cases per property: `default`, or `STUDIO_FUZZ_CASES` (scripts/fuzz runs many more).
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("STUDIO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
