//! The engine's layers point one way. Each top-level module of `src/` belongs to a layer;
//! a module may use (`crate::x`) only modules of its own layer or of lower ones. An
//! upward import makes this test fail and name the file, the line and both layers.

use std::path::{Path, PathBuf};

/// Lowest first. Same-layer modules may use each other.
const LAYERS: &[&[&str]] = &[
    &["error", "progress"],
    &["arch"],
    &["device", "runtime"],
    &["charts", "data", "models"],
    &["project"],
    &["classify"],
    &["active"],
    &["studies"],
    &["ops"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Modules named after `crate::` in `line` (also inside `crate::{a, b::c}` groups).
fn used_modules(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.push(name);
            }
        } else {
            found.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    found
}

/// Every upward import under `src`, as messages.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut bad = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        // The crate root and test support sit outside the layers.
        if top == "lib" || top == "testing" {
            continue;
        }
        let Some(own) = rank(&top) else {
            bad.push(format!(
                "{}: module `{top}` is in no layer; add it to LAYERS in tests/layers.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Doc links may point anywhere; code may not.
            if code.starts_with("//") {
                continue;
            }
            for used in used_modules(line) {
                if matches!(used.as_str(), "Result" | "StudioError" | "testing" | "") {
                    continue;
                }
                match rank(&used) {
                    Some(r) if r > own => bad.push(format!(
                        "{}:{}: `{top}` (layer {own}) uses `{used}` (layer {r}), a higher layer",
                        rel.display(),
                        n + 1
                    )),
                    Some(_) => {}
                    None => bad.push(format!(
                        "{}:{}: uses `crate::{used}`, which is in no layer",
                        rel.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    bad
}

#[test]
fn no_layer_uses_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
}

#[test]
fn an_upward_import_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("data")).unwrap();
    std::fs::write(src.join("data/mod.rs"), "use crate::ops::Engine;\n").unwrap();
    std::fs::write(
        src.join("ops.rs"),
        "use crate::{data, Result};\n// see crate::studies\n",
    )
    .unwrap();
    let bad = violations(src);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("data/mod.rs:1: `data` (layer 3) uses `ops`"));
}
