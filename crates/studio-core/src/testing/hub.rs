//! A local server with the Hugging Face hub's URL layout and headers, for download
//! tests (the internet is the one boundary tests cannot reach).
//!
//! Like the hub: `/<repo>/resolve/<revision>/<file>` answers for `main` and for
//! [`COMMIT`] only, with `X-Repo-Commit`; a small file comes with its git blob id as
//! `ETag`; a weights file (`.safetensors`, `.bin`) is a redirect to `/lfs/<file>` with its
//! sha256 as `X-Linked-Etag`. `Range: bytes=N-M` / `bytes=N-` is honoured.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The commit `main` points at.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Ways the server misbehaves, by file name.
#[derive(Debug, Clone, Default)]
pub struct Misbehave {
    /// Answered 500.
    pub broken: Vec<String>,
    /// Served with one byte changed (and the published hash of the real file).
    pub corrupt: Vec<String>,
    /// Half the bytes, then nothing for 10 s.
    pub stall: Vec<String>,
    /// 1 KiB every 10 ms.
    pub slow: Vec<String>,
}

/// Serves `root` (see the module docs). Records every request line in `log`.
pub fn serve(root: PathBuf, log: Arc<Mutex<Vec<String>>>) -> String {
    serve_with(root, log, Arc::new(Mutex::new(Vec::new())), &[])
}

/// [`serve`], also recording every header line in `headers`, and answering 500 for the
/// files in `broken`.
pub fn serve_with(
    root: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    headers: Arc<Mutex<Vec<String>>>,
    broken: &[&str],
) -> String {
    serve_misbehaving(
        root,
        log,
        headers,
        Misbehave {
            broken: broken.iter().map(|s| s.to_string()).collect(),
            ..Misbehave::default()
        },
    )
}

/// [`serve_with`] with every kind of misbehaviour in `bad`.
pub fn serve_misbehaving(
    root: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    headers: Arc<Mutex<Vec<String>>>,
    bad: Misbehave,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let origin = base.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (root, log, headers, bad, base) = (
                root.clone(),
                log.clone(),
                headers.clone(),
                bad.clone(),
                base.clone(),
            );
            std::thread::spawn(move || answer(stream, &root, &log, &headers, &bad, &base));
        }
    });
    origin
}

fn is_lfs(file: &str) -> bool {
    file.ends_with(".safetensors") || file.ends_with(".bin")
}

fn answer(
    mut stream: TcpStream,
    root: &std::path::Path,
    log: &Mutex<Vec<String>>,
    headers: &Mutex<Vec<String>>,
    bad: &Misbehave,
    base: &str,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    let _ = reader.read_line(&mut request);
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        headers.lock().unwrap().push(h.trim().to_ascii_lowercase());
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
            range = Some(v.trim().to_string());
        }
    }
    log.lock().unwrap().push(request.trim().to_string());
    let status = |stream: &mut TcpStream, line: &str| {
        let _ = stream.write_all(
            format!("HTTP/1.1 {line}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
        );
    };
    let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
    // The file's own URL, or the "CDN" an LFS file redirects to.
    let (file, via_cdn) = if let Some(f) = path.strip_prefix("/lfs/") {
        (f.to_string(), true)
    } else {
        match path.split_once("/resolve/") {
            Some((_, rest)) => match rest.split_once('/') {
                Some((rev, f)) if rev == "main" || rev == COMMIT => (f.to_string(), false),
                _ => return status(&mut stream, "404 Not Found"),
            },
            None => return status(&mut stream, "404 Not Found"),
        }
    };
    if bad.broken.contains(&file) {
        return status(&mut stream, "500 Internal Server Error");
    }
    let Ok(real) = std::fs::read(root.join(&file)) else {
        return status(&mut stream, "404 Not Found");
    };
    if is_lfs(&file) && !via_cdn {
        let sha = format!("{:x}", Sha256::digest(&real));
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 302 Found\r\nlocation: {base}/lfs/{file}\r\nx-linked-etag: \"{sha}\"\r\nx-linked-size: {}\r\nx-repo-commit: {COMMIT}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                real.len()
            )
            .as_bytes(),
        );
        return;
    }
    let mut body = real.clone();
    if bad.corrupt.contains(&file) {
        let last = body.len() - 1;
        body[last] ^= 0x5a;
    }
    let size = body.len();
    let (start, end) = match range.as_deref().and_then(|r| r.split_once('-')) {
        Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(size - 1)),
        None => (0, size - 1),
    };
    if start >= size {
        return status(&mut stream, "416 Range Not Satisfiable");
    }
    let end = end.min(size - 1);
    let part = &body[start..=end];
    let mut git = Sha1::new();
    git.update(format!("blob {}\0", real.len()).as_bytes());
    git.update(&real);
    let etag = if is_lfs(&file) {
        format!("{:x}", Sha256::digest(&real))
    } else {
        format!("{:x}", git.finalize())
    };
    let head = format!(
        "HTTP/1.1 206 Partial Content\r\ncontent-length: {}\r\ncontent-range: bytes {start}-{end}/{size}\r\netag: \"{etag}\"\r\nx-repo-commit: {COMMIT}\r\nconnection: close\r\n\r\n",
        part.len(),
    );
    let _ = stream.write_all(head.as_bytes());
    if bad.stall.contains(&file) && part.len() > 1 {
        let _ = stream.write_all(&part[..part.len() / 2]);
        let _ = stream.flush();
        std::thread::sleep(Duration::from_secs(10));
        return;
    }
    if bad.slow.contains(&file) && part.len() > 1 {
        for chunk in part.chunks(1024) {
            if stream.write_all(chunk).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        return;
    }
    let _ = stream.write_all(part);
    let _ = stream.read(&mut [0u8; 0]);
}
