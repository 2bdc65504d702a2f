//! Shared body of the importer fuzz targets: open the bytes as a file of the given
//! extension, preview it, stream every row. Errors are fine; panics, hangs and
//! unbounded memory are bugs.

use std::ops::ControlFlow;
use std::path::Path;
use studio_core::data::import::{ImportOptions, Importer, Input, Row};
use studio_core::progress::{CancelToken, Silent};

/// Runs the importer over `data` as if it were a file named `name`.
pub fn run(name: &str, data: &[u8]) {
    let input = Input::Bytes {
        name: Path::new(name),
        bytes: data,
    };
    for opts in [
        ImportOptions::default(),
        ImportOptions {
            has_header: Some(false),
            encoding: Some("gb18030".into()),
            ..Default::default()
        },
    ] {
        let Ok(importer) = Importer::open(input, &opts) else {
            continue;
        };
        let width = importer.layout().columns.len();
        let _ = importer.preview(5);
        let _ = importer.stream(&mut Silent, &CancelToken::new(), &mut |row| {
            if let Row::Record { fields, .. } = &row {
                assert_eq!(
                    fields.len(),
                    width,
                    "a record must have one value per column"
                );
            }
            Ok(ControlFlow::Continue(()))
        });
    }
}
