//! A local server with the Hugging Face hub's URL layout, for download tests (the
//! internet is the one boundary tests cannot reach).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Serves `root/<file>` at `/<repo>/resolve/main/<file>` with the headers hf-hub reads,
/// honouring `Range: bytes=N-M` / `bytes=N-`. Records every request line.
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
    let broken: Vec<String> = broken.iter().map(|s| s.to_string()).collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let root = root.clone();
            let log = log.clone();
            let headers = headers.clone();
            let broken = broken.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut range = None;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                    headers.lock().unwrap().push(h.trim().to_ascii_lowercase());
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        range = Some(v.trim().to_string());
                    }
                }
                log.lock().unwrap().push(request.trim().to_string());
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let file = path.split("/resolve/main/").nth(1).unwrap_or("");
                if broken.iter().any(|b| b == file) {
                    let _ = stream.write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                }
                let Ok(body) = std::fs::read(root.join(file)) else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                };
                let size = body.len();
                let (start, end) = match range.as_deref().and_then(|r| r.split_once('-')) {
                    Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(size - 1)),
                    None => (0, size - 1),
                };
                let end = end.min(size - 1);
                let part = &body[start..=end];
                let head = format!(
                    "HTTP/1.1 206 Partial Content\r\ncontent-length: {}\r\ncontent-range: bytes {start}-{end}/{size}\r\netag: \"{:x}\"\r\nx-repo-commit: 0123456789abcdef0123456789abcdef01234567\r\nconnection: close\r\n\r\n",
                    part.len(),
                    size * 31 + file.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(part);
                let _ = stream.read(&mut [0u8; 0]);
            });
        }
    });
    format!("http://{addr}")
}
