//! A prediction server over HTTP: what `studio serve` runs.
//!
//! - `POST /predict` with `{"texts": ["...", ...]}` answers
//!   `{"predictions": [{"label", "confidence", "probabilities": {label: p}}]}` in input
//!   order; the probabilities are the calibrated ones the export carries.
//! - `GET /health` answers `{"status": "ok"}`; `GET /info` the labels, the base model,
//!   the test metrics and the server's limits.
//! - Errors are `{"error": {"code", "message"}}` with 400 (bad JSON or texts), 404, 405,
//!   413 (body or batch too large) and 503 (queue full, or shutting down).
//!
//! Why this shape: one thread owns the model and runs micro-batches; concurrent requests
//! queue for it (bounded: a full queue answers 503 at once rather than letting latency
//! grow without end) and are batched together, which is where a CPU's throughput comes
//! from. A few reader threads parse and check requests, so a slow or bad client never
//! holds the model. [`Serving::shutdown`] (on SIGTERM in the CLI) stops accepting, then
//! answers every queued request before returning.

use crate::classify::infer::Predictor;
use crate::progress::CancelToken;
use crate::{Result, StudioError};
use serde_json::{json, Value};
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use tiny_http::{Header, Method, Request, Response, Server};

/// Limits and sizes of the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (loopback by default: nothing outside the machine reaches
    /// it unless the user says so).
    pub host: String,
    /// Port (0 picks a free one).
    pub port: u16,
    /// Most texts run through the model at once.
    pub max_batch: usize,
    /// Requests waiting for the model before new ones get 503.
    pub queue: usize,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most texts in one request.
    pub max_texts: usize,
    /// Threads that read and check requests.
    pub readers: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_batch: 32,
            queue: 256,
            max_body_bytes: 1 << 20,
            max_texts: 256,
            readers: 4,
        }
    }
}

/// What the model answers about itself at `/info`.
fn info(dir: &Path, predictor: &Predictor, o: &ServeOptions) -> Value {
    let read = |f: &str| -> Value {
        std::fs::read_to_string(dir.join(f))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    json!({
        "labels": predictor.labels(),
        "base_model": read("training_args.json").get("base_model").cloned().unwrap_or(Value::Null),
        "metrics": read("metrics.json").get("test").cloned().unwrap_or(Value::Null),
        "temperature": predictor.temperature(),
        "limits": {
            "max_texts_per_request": o.max_texts,
            "max_body_bytes": o.max_body_bytes,
            "max_batch": o.max_batch,
            "queue": o.queue,
        },
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// A checked `/predict` request waiting for the model.
struct Job {
    request: Request,
    texts: Vec<String>,
}

fn json_response(status: u16, body: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = Header::from_bytes("Content-Type", "application/json").expect("a valid header");
    Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(header)
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

fn respond_error(request: Request, status: u16, code: &str, message: &str) {
    let mut r = json_response(status, &error_body(code, message));
    if status == 503 {
        r.add_header(Header::from_bytes("Retry-After", "1").expect("a valid header"));
    }
    let _ = request.respond(r);
}

/// Reads and checks a `/predict` body: a JSON object whose `texts` is a non-empty list
/// of strings, within the limits. Errors are (status, code, message).
fn parse_texts(
    request: &mut Request,
    o: &ServeOptions,
) -> std::result::Result<Vec<String>, (u16, &'static str, String)> {
    if let Some(len) = request.body_length() {
        if len > o.max_body_bytes {
            return Err((
                413,
                "bodyTooLarge",
                format!(
                    "the request body is {len} bytes; the limit is {} bytes: send fewer or shorter texts per request",
                    o.max_body_bytes
                ),
            ));
        }
    }
    let mut body = Vec::new();
    let limit = o.max_body_bytes as u64 + 1;
    if let Err(e) = request.as_reader().take(limit).read_to_end(&mut body) {
        return Err((
            400,
            "badBody",
            format!("could not read the request body: {e}"),
        ));
    }
    if body.len() > o.max_body_bytes {
        return Err((
            413,
            "bodyTooLarge",
            format!(
                "the request body is over the limit of {} bytes: send fewer or shorter texts per request",
                o.max_body_bytes
            ),
        ));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        (
            400,
            "badJson",
            format!("the body is not valid JSON ({e}); send {{\"texts\": [\"...\"]}}"),
        )
    })?;
    let Some(list) = v.get("texts") else {
        return Err((
            400,
            "noTexts",
            "the body has no \"texts\" field; send {\"texts\": [\"...\"]}".into(),
        ));
    };
    let Some(list) = list.as_array() else {
        return Err((
            400,
            "badTexts",
            "\"texts\" must be a list of strings".into(),
        ));
    };
    if list.is_empty() {
        return Err((
            400,
            "noTexts",
            "\"texts\" is empty: send at least one text".into(),
        ));
    }
    if list.len() > o.max_texts {
        return Err((
            413,
            "tooManyTexts",
            format!(
                "{} texts in one request; the limit is {}: split them over several requests",
                list.len(),
                o.max_texts
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_str().map(str::to_string).ok_or_else(|| {
                (
                    400,
                    "badTexts",
                    format!("text {i} is not a string; \"texts\" must be a list of strings"),
                )
            })
        })
        .collect()
}

/// How a checked request joins the model's queue.
enum Queue<'a> {
    /// At once or not at all: a full queue answers 503 (while serving).
    Try(&'a SyncSender<Box<Job>>),
    /// Waiting for room (while shutting down, for requests that came before the stop).
    Wait(&'a SyncSender<Box<Job>>),
}

impl Queue<'_> {
    fn push(&self, job: Box<Job>) -> std::result::Result<(), TrySendError<Box<Job>>> {
        match self {
            Queue::Try(tx) => tx.try_send(job),
            Queue::Wait(tx) => tx.send(job).map_err(|e| TrySendError::Disconnected(e.0)),
        }
    }
}

/// Answers one request: health and info at once, predictions by queueing them for the
/// model.
fn handle(mut request: Request, jobs: &Queue, info: &Value, o: &ServeOptions) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().clone();
    match (path.as_str(), &method) {
        ("/health", Method::Get) => {
            let _ = request.respond(json_response(200, &json!({"status": "ok"})));
        }
        ("/info", Method::Get) => {
            let _ = request.respond(json_response(200, info));
        }
        ("/predict", Method::Post) => match parse_texts(&mut request, o) {
            Err((status, code, message)) => respond_error(request, status, code, &message),
            Ok(texts) => match jobs.push(Box::new(Job { request, texts })) {
                Ok(()) => {}
                Err(TrySendError::Full(job)) => respond_error(
                    job.request,
                    503,
                    "busy",
                    "the server's queue is full; try again in a moment",
                ),
                Err(TrySendError::Disconnected(job)) => respond_error(
                    job.request,
                    503,
                    "shuttingDown",
                    "the server is shutting down",
                ),
            },
        },
        ("/health" | "/info", _) => respond_error(
            request,
            405,
            "methodNotAllowed",
            &format!("{path} answers GET, not {method}"),
        ),
        ("/predict", _) => respond_error(
            request,
            405,
            "methodNotAllowed",
            &format!("/predict answers POST with {{\"texts\": [...]}}, not {method}"),
        ),
        _ => respond_error(
            request,
            404,
            "notFound",
            &format!("no such endpoint {path}: use POST /predict, GET /health or GET /info"),
        ),
    }
}

/// The model's thread: takes queued jobs, runs them in batches of up to `max_batch`
/// texts, answers each. Returns when every sender is gone and the queue is empty.
fn run_batches(predictor: &Predictor, jobs: Receiver<Box<Job>>, max_batch: usize) {
    let labels = predictor.labels().to_vec();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        let mut n = batch[0].texts.len();
        while n < max_batch {
            match jobs.try_recv() {
                Ok(j) => {
                    n += j.texts.len();
                    batch.push(j);
                }
                Err(_) => break,
            }
        }
        let texts: Vec<String> = batch.iter().flat_map(|j| j.texts.iter().cloned()).collect();
        match predictor.predict(&texts, &CancelToken::new()) {
            Ok(predictions) => {
                let mut it = predictions.into_iter();
                for job in batch {
                    let rows: Vec<Value> = it
                        .by_ref()
                        .take(job.texts.len())
                        .map(|p| {
                            let probs: serde_json::Map<String, Value> = labels
                                .iter()
                                .zip(&p.probs)
                                .map(|(l, v)| (l.clone(), json!(v)))
                                .collect();
                            json!({
                                "label": p.label,
                                "confidence": p.probs[p.label_id],
                                "probabilities": probs,
                            })
                        })
                        .collect();
                    let _ = job
                        .request
                        .respond(json_response(200, &json!({"predictions": rows})));
                }
            }
            Err(e) => {
                for job in batch {
                    respond_error(job.request, 500, e.code(), &e.to_string());
                }
            }
        }
    }
}

/// A running server: its address, and the call that stops it.
pub struct Serving {
    /// The address it listens on (with the port chosen when 0 was asked for).
    pub addr: SocketAddr,
    server: Arc<Server>,
    readers: Vec<std::thread::JoinHandle<()>>,
    model: std::thread::JoinHandle<()>,
    jobs: SyncSender<Box<Job>>,
    info: Arc<Value>,
    options: Arc<ServeOptions>,
}

impl Serving {
    /// Stops the readers, answers every request already received (those the readers
    /// had not taken yet too), and returns when the model's thread has answered the
    /// last queued one.
    pub fn shutdown(self) {
        // One wake-up per reader blocked in `recv`.
        for _ in 0..self.readers.len() {
            self.server.unblock();
        }
        for t in self.readers {
            let _ = t.join();
        }
        // Requests accepted but not yet read: queue them, waiting for room rather than
        // answering 503, since they arrived before the stop.
        while let Ok(Some(request)) = self.server.try_recv() {
            handle(request, &Queue::Wait(&self.jobs), &self.info, &self.options);
        }
        drop(self.jobs);
        let _ = self.model.join();
    }
}

/// Starts serving `predictor` (loaded from `dir`, whose model card files `/info`
/// reads). Returns once it listens.
pub fn start(dir: &Path, predictor: Arc<Predictor>, o: ServeOptions) -> Result<Serving> {
    let address = format!("{}:{}", o.host, o.port);
    let server = Server::http(&address).map_err(|e| {
        StudioError::InvalidSetting(format!(
            "cannot listen on {address} ({e}); pick another --port, or stop the program that uses it"
        ))
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| StudioError::InvalidSetting(format!("{address} is not an IP address")))?;
    let server = Arc::new(server);
    let info = Arc::new(info(dir, &predictor, &o));
    let (tx, rx) = mpsc::sync_channel::<Box<Job>>(o.queue.max(1));
    let max_batch = o.max_batch.max(1);
    let model = std::thread::spawn(move || run_batches(&predictor, rx, max_batch));
    let o = Arc::new(o);
    let readers = (0..o.readers.max(1))
        .map(|_| {
            let (server, tx, info, o) = (server.clone(), tx.clone(), info.clone(), o.clone());
            std::thread::spawn(move || {
                // `recv` fails once `unblock` is called and the reader ends.
                while let Ok(request) = server.recv() {
                    handle(request, &Queue::Try(&tx), &info, &o);
                }
            })
        })
        .collect();
    Ok(Serving {
        addr,
        server,
        readers,
        model,
        jobs: tx,
        info,
        options: o,
    })
}
