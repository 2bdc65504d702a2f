//! Downloading a model from the Hugging Face hub (or any server with the hub's URL
//! layout, such as a mirror set with `HF_ENDPOINT` or our tests' local server).
//!
//! hf-hub names the repository's folder in the cache, as transformers' own cache does.
//! The bytes move through our own loop on ureq (the client hf-hub itself uses), because
//! hf-hub 0.4's blocking download can be neither cancelled inside a file nor bounded by
//! a read timeout, and it checks no hash. Here every file:
//! - comes from one commit: the first answer names the commit the revision points at
//!   (`X-Repo-Commit`), and every later file is asked for at that commit, so a model
//!   pushed to during a pull is never mixed from two versions;
//! - is checked against the hash the hub publishes for it (`X-Linked-Etag`, the
//!   sha256 of a large file; `ETag`, the git blob id of a small one) before it is used;
//! - resumes from the bytes an interrupted pull left in the cache;
//! - can be cancelled between any two chunks, and fails when the server sends nothing
//!   for [`READ_TIMEOUT`].

use crate::progress::{CancelToken, Event, NoteCode, Observer};
use crate::{Result, StudioError};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where to download from and where to keep the hub's cache.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Base URL; `None` means huggingface.co.
    pub endpoint: Option<String>,
    /// The cache of downloaded files (partial downloads resume from here).
    pub cache_dir: PathBuf,
    /// The user's Hugging Face token, if they have one. Sent to huggingface.co only:
    /// a mirror or any other server named by `endpoint` never sees it.
    pub token: Option<String>,
    /// A branch, tag or commit; `None` means `main`. Whatever it names is resolved to one
    /// commit on the first file.
    pub revision: Option<String>,
    /// How long the server may send nothing before the pull fails; `None` means
    /// [`READ_TIMEOUT`].
    pub read_timeout: Option<Duration>,
}

/// The hub itself, the only server a token goes to.
pub const OFFICIAL_ENDPOINT: &str = "https://huggingface.co";

/// How long a server may send nothing before a download fails (it resumes on the next
/// pull).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read between two cancellation checks.
const CHUNK: usize = 64 * 1024;

impl HubOptions {
    /// Whether downloads go to huggingface.co itself.
    pub fn is_official(&self) -> bool {
        self.endpoint
            .as_deref()
            .is_none_or(|e| e.trim_end_matches('/') == OFFICIAL_ENDPOINT)
    }

    /// The token to send: the user's for huggingface.co, none anywhere else.
    fn token_to_send(&self) -> Option<String> {
        self.is_official().then(|| self.token.clone()).flatten()
    }

    fn endpoint(&self) -> String {
        self.endpoint
            .as_deref()
            .unwrap_or(OFFICIAL_ENDPOINT)
            .trim_end_matches('/')
            .to_string()
    }
}

/// The reason of a [`StudioError::Download`] for a file the server does not have: the
/// only failure after which another file may be tried in its place.
const NOT_FOUND: &str = "not found on the server";

/// Files a model folder may need; the first group is required.
const REQUIRED: &[&str] = &["config.json"];
const WEIGHTS: &[&str] = &["model.safetensors", "pytorch_model.bin"];
const TOKENIZER: &[&str] = &["tokenizer.json", "vocab.txt"];
const OPTIONAL: &[&str] = &[
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
];

/// The hash the hub publishes for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Published {
    /// sha256 of the content (large files, stored with git LFS).
    Sha256(String),
    /// git's blob id: sha1 of `"blob <len>\0"` and the content (small files).
    GitSha1(String),
}

impl Published {
    /// Reads an `ETag`/`X-Linked-Etag` value (quotes and a weak `W/` dropped). `None` when
    /// it is not a hash (a mirror may send anything there).
    fn parse(etag: &str) -> Option<Self> {
        let v = etag.trim().trim_start_matches("W/").trim_matches('"');
        let hex = v.chars().all(|c| c.is_ascii_hexdigit());
        match v.len() {
            64 if hex => Some(Self::Sha256(v.to_ascii_lowercase())),
            40 if hex => Some(Self::GitSha1(v.to_ascii_lowercase())),
            _ => None,
        }
    }

    fn hex(&self) -> &str {
        match self {
            Self::Sha256(h) | Self::GitSha1(h) => h,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Sha256(h) => format!("sha256 {h}"),
            Self::GitSha1(h) => format!("git blob {h}"),
        }
    }
}

/// Hashes a file's bytes as the hub does for its kind.
enum Hasher {
    Sha256(Sha256),
    GitSha1(Sha1),
}

impl Hasher {
    fn new(kind: &Published, size: u64) -> Self {
        match kind {
            Published::Sha256(_) => Self::Sha256(Sha256::new()),
            Published::GitSha1(_) => {
                let mut h = Sha1::new();
                h.update(format!("blob {size}\0").as_bytes());
                Self::GitSha1(h)
            }
        }
    }
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::GitSha1(h) => h.update(bytes),
        }
    }
    fn finish(self) -> String {
        match self {
            Self::Sha256(h) => format!("{:x}", h.finalize()),
            Self::GitSha1(h) => format!("{:x}", h.finalize()),
        }
    }
}

/// What the server said about one file before its bytes.
struct Head {
    /// The commit the revision resolved to.
    commit: Option<String>,
    /// The published hash.
    hash: Option<Published>,
    /// Where the bytes are (the file's own URL, or a CDN's after a redirect).
    location: String,
    /// Whether `location` is on the endpoint itself (so the token may go there).
    same_host: bool,
}

/// One pull's connection to the server.
struct Client<'a> {
    agent: ureq::Agent,
    opts: &'a HubOptions,
    repo: &'a str,
    /// The folder of this repository in the cache.
    cache: PathBuf,
    /// Set by the first file: every later file is asked for at this commit.
    commit: Option<String>,
}

/// Downloads `repo` into `dest` (a folder that must not exist yet). Cancellation is
/// checked between chunks of every file; what was downloaded of a file resumes on the
/// next call.
pub fn download(
    repo: &str,
    opts: &HubOptions,
    dest: &Path,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<()> {
    let folder = hf_hub::Repo::model(repo.to_string()).folder_name();
    let mut client = Client {
        agent: ureq::AgentBuilder::new()
            .try_proxy_from_env(true)
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(opts.read_timeout.unwrap_or(READ_TIMEOUT))
            .redirects(0)
            .build(),
        opts,
        repo,
        cache: opts.cache_dir.join(folder),
        commit: None,
    };
    std::fs::create_dir_all(dest).map_err(|e| StudioError::io("create the folder", dest, e))?;
    let mut fetch = |file: &str, observer: &mut dyn Observer| -> Result<PathBuf> {
        cancel.check()?;
        client.fetch(file, dest, observer, cancel)
    };
    for f in REQUIRED {
        fetch(f, observer)?;
    }
    let weights = first_of(WEIGHTS, &mut fetch, observer, repo, "weights")?;
    if weights.ends_with(".bin") {
        observer.on_event(&Event::note(
            NoteCode::WeightsFromBin,
            format!(
                "{repo} has no model.safetensors; using pytorch_model.bin (read as data, no code in it is run)"
            ),
            Vec::new(),
        ));
    }
    first_of(TOKENIZER, &mut fetch, observer, repo, "tokenizer")?;
    for f in OPTIONAL {
        match fetch(f, observer) {
            Ok(_) => {}
            Err(StudioError::Cancelled) => return Err(StudioError::Cancelled),
            Err(e @ StudioError::Checksum { .. }) => return Err(e),
            Err(_) => {} // optional: absent on the server is fine
        }
    }
    if let Some(commit) = &client.commit {
        observer.on_event(&Event::note(
            NoteCode::Commit,
            format!("{repo}: every file from commit {commit}"),
            vec![("commit", commit.clone())],
        ));
    }
    Ok(())
}

impl Client<'_> {
    fn fail(&self, file: &str, reason: impl Into<String>) -> StudioError {
        StudioError::Download {
            what: format!("{}/{file}", self.repo),
            reason: reason.into(),
        }
    }

    /// Describes a transport error in words a user can act on.
    fn transport(&self, file: &str, e: ureq::Error) -> StudioError {
        match e {
            ureq::Error::Status(404, _) => self.fail(file, NOT_FOUND),
            ureq::Error::Status(code, r) => self.fail(
                file,
                format!(
                    "the server answered {code} {}; try again later, or set HF_ENDPOINT to a mirror",
                    r.status_text()
                ),
            ),
            ureq::Error::Transport(t) => self.fail(
                file,
                format!("the server could not be reached or stopped answering ({t}); check the connection and pull again (it resumes where it stopped), or set HF_ENDPOINT to a mirror"),
            ),
        }
    }

    fn get(&self, url: &str, send_token: bool) -> ureq::Request {
        let mut r = self.agent.get(url).set("accept-encoding", "identity").set(
            "user-agent",
            concat!("sentiment-studio/", env!("CARGO_PKG_VERSION")),
        );
        if send_token {
            if let Some(t) = self.opts.token_to_send() {
                r = r.set("authorization", &format!("Bearer {t}"));
            }
        }
        r
    }

    /// Asks for the file's first byte and follows the server's own (relative)
    /// redirects, as huggingface_hub does: the answer names the commit and the hash, and
    /// an absolute redirect names where the bytes are (a CDN, which gets no token).
    fn head(&self, file: &str) -> Result<Head> {
        let revision = self
            .commit
            .clone()
            .or_else(|| self.opts.revision.clone())
            .unwrap_or_else(|| "main".into());
        let endpoint = self.opts.endpoint();
        let mut url = format!("{endpoint}/{}/resolve/{revision}/{file}", self.repo);
        for _ in 0..5 {
            let r = self
                .get(&url, true)
                .set("range", "bytes=0-0")
                .call()
                .map_err(|e| self.transport(file, e))?;
            let commit = r.header("x-repo-commit").map(str::to_string);
            let hash = r
                .header("x-linked-etag")
                .or_else(|| r.header("etag"))
                .and_then(Published::parse);
            if (300..400).contains(&r.status()) {
                let to = r
                    .header("location")
                    .ok_or_else(|| self.fail(file, "a redirect without a location"))?
                    .to_string();
                if to.starts_with('/') {
                    url = format!("{endpoint}{to}");
                    continue;
                }
                return Ok(Head {
                    commit,
                    hash,
                    same_host: to.starts_with(&endpoint),
                    location: to,
                });
            }
            // The bytes come from the commit just named, even when a branch was asked
            // for: it may move between this answer and the next request.
            let location = match &commit {
                Some(c) => format!("{endpoint}/{}/resolve/{c}/{file}", self.repo),
                None => url,
            };
            return Ok(Head {
                commit,
                hash,
                location,
                same_host: true,
            });
        }
        Err(self.fail(file, "too many redirects"))
    }

    /// Downloads one file into `dest` (through the cache) and returns its path there.
    fn fetch(
        &mut self,
        file: &str,
        dest: &Path,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<PathBuf> {
        let head = self.head(file)?;
        match (&self.commit, &head.commit) {
            (None, Some(c)) => self.commit = Some(c.clone()),
            (Some(pinned), Some(c)) if pinned != c => {
                return Err(self.fail(
                    file,
                    format!("the server answered from commit {c}, not {pinned}; pull again"),
                ))
            }
            _ => {}
        }
        let blobs = self.cache.join("blobs");
        std::fs::create_dir_all(&blobs)
            .map_err(|e| StudioError::io("create the folder", &blobs, e))?;
        // A file without a published hash (some mirrors) is kept under its commit and
        // name instead, and not checked.
        let key = match &head.hash {
            Some(h) => h.hex().to_string(),
            None => format!(
                "unhashed-{}-{}",
                self.commit.as_deref().unwrap_or("main"),
                file.replace('/', "--")
            ),
        };
        let blob = blobs.join(&key);
        let done_already = blob.is_file()
            && head
                .hash
                .as_ref()
                .is_some_and(|h| hash_file(&blob, h).ok().as_deref() == Some(h.hex()));
        if !done_already {
            self.transfer(file, &head, &blob, observer, cancel)?;
        }
        let target = dest.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StudioError::io("create the folder", parent, e))?;
        }
        std::fs::copy(&blob, &target).map_err(|e| StudioError::io("copy", &target, e))?;
        Ok(target)
    }

    /// Moves the bytes into `blob` through `blob.part`, resuming what is there.
    fn transfer(
        &self,
        file: &str,
        head: &Head,
        blob: &Path,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<()> {
        let part = blob.with_extension("part");
        let mut start = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let mut r = self
            .get(&head.location, head.same_host)
            .set("range", &format!("bytes={start}-"))
            .call();
        if let Err(ureq::Error::Status(416, _)) = r {
            // The part is longer than the file: start over.
            let _ = std::fs::remove_file(&part);
            start = 0;
            r = self.get(&head.location, head.same_host).call();
        }
        let r = r.map_err(|e| self.transport(file, e))?;
        if r.status() != 206 {
            start = 0; // the server sent the whole file
        }
        let total = match r.header("content-range") {
            Some(cr) => cr.rsplit('/').next().and_then(|s| s.parse::<u64>().ok()),
            None => r.header("content-length").and_then(|s| s.parse().ok()),
        };
        observer.on_event(&Event::Phase {
            name: format!("download {file}"),
            total,
        });
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(start > 0)
            .write(true)
            .truncate(start == 0)
            .open(&part)
            .map_err(|e| StudioError::io("write", &part, e))?;
        let mut reader = r.into_reader();
        let mut buf = vec![0u8; CHUNK];
        let (mut done, mut last_report) = (start, 0u64);
        loop {
            cancel.check()?;
            let n = reader.read(&mut buf).map_err(|e| {
                self.fail(
                    file,
                    if e.kind() == std::io::ErrorKind::TimedOut
                        || e.kind() == std::io::ErrorKind::WouldBlock
                    {
                        format!(
                            "the server sent nothing for {} s; check the connection and pull again (it resumes where it stopped)",
                            self.opts.read_timeout.unwrap_or(READ_TIMEOUT).as_secs()
                        )
                    } else {
                        format!("the connection broke ({e}); pull again (it resumes where it stopped)")
                    },
                )
            })?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])
                .map_err(|e| StudioError::io("write", &part, e))?;
            done += n as u64;
            let step = total.map_or(CHUNK as u64 * 16, |t| (t / 200).max(1));
            if done - last_report >= step || Some(done) == total {
                last_report = done;
                observer.on_event(&Event::Advance { done, total });
            }
        }
        out.sync_all()
            .map_err(|e| StudioError::io("write", &part, e))?;
        drop(out);
        if let Some(t) = total {
            if done != t {
                return Err(self.fail(
                    file,
                    format!("the server sent {done} of {t} bytes; pull again (it resumes where it stopped)"),
                ));
            }
        }
        if let Some(h) = &head.hash {
            let actual = hash_file(&part, h)?;
            if actual != h.hex() {
                let _ = std::fs::remove_file(&part);
                return Err(StudioError::Checksum {
                    file: format!("{}/{file}", self.repo),
                    actual,
                    expected: h.describe(),
                });
            }
        }
        std::fs::rename(&part, blob).map_err(|e| StudioError::io("rename", blob, e))
    }
}

/// Hex sha256 of a file (also the PyPI fallback's check).
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    hash_file(path, &Published::Sha256(String::new()))
}

/// The hash of `path` of the kind `kind` is.
fn hash_file(path: &Path, kind: &Published) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| StudioError::io("read", path, e))?;
    let size = f
        .metadata()
        .map_err(|e| StudioError::io("read", path, e))?
        .len();
    let mut h = Hasher::new(kind, size);
    let mut buf = vec![0u8; CHUNK * 4];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| StudioError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// The first of `files` the server has. Only "not found" moves on to the next: any
/// other failure (a broken connection, a server error) is the user's to hear about, not a
/// reason to fetch a different kind of file silently.
fn first_of<'f>(
    files: &[&'f str],
    fetch: &mut dyn FnMut(&str, &mut dyn Observer) -> Result<PathBuf>,
    observer: &mut dyn Observer,
    repo: &str,
    what: &str,
) -> Result<&'f str> {
    let mut last = None;
    for f in files {
        match fetch(f, observer) {
            Ok(_) => return Ok(f),
            Err(StudioError::Download { reason, what }) if reason == NOT_FOUND => {
                last = Some(StudioError::Download { reason, what });
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| StudioError::Download {
        what: format!("{repo} {what}"),
        reason: format!("none of {} found", files.join(", ")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_hashes_are_read_from_etags_as_the_hub_writes_them() {
        let sha = "a".repeat(64);
        assert_eq!(
            Published::parse(&format!("\"{sha}\"")),
            Some(Published::Sha256(sha))
        );
        let git = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            Published::parse(&format!("W/\"{git}\"")),
            Some(Published::GitSha1(git.into()))
        );
        assert_eq!(Published::parse("\"5d41-abc\""), None);
    }

    #[test]
    fn a_git_blob_id_is_the_one_git_computes() {
        // `printf 'hello\n' | git hash-object --stdin`
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "hello\n").unwrap();
        let kind = Published::GitSha1(String::new());
        assert_eq!(
            hash_file(&f, &kind).unwrap(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
