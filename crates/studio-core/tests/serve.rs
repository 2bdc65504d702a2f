//! The prediction server on a real socket (127.0.0.1, a free port) with a tiny trained
//! classifier: answers equal `Predictor`'s, every bad request gets its status and code,
//! a full queue answers 503, and a shutdown answers what was already sent.

use std::path::PathBuf;
use std::sync::Arc;
use studio_core::arch::Family;
use studio_core::classify::infer::Predictor;
use studio_core::ops::serve::{start, ServeOptions, Serving};
use studio_core::progress::CancelToken;
use studio_core::testing::trained_tiny_classifier;

struct Fixture {
    _dir: tempfile::TempDir,
    model: PathBuf,
    predictor: Arc<Predictor>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let model = trained_tiny_classifier(dir.path(), Family::Bert);
    let predictor = Arc::new(Predictor::load(&model, &candle_core::Device::Cpu).unwrap());
    Fixture {
        _dir: dir,
        model,
        predictor,
    }
}

fn serve(f: &Fixture, o: ServeOptions) -> (Serving, String) {
    let s = start(&f.model, f.predictor.clone(), ServeOptions { port: 0, ..o }).unwrap();
    let url = format!("http://{}", s.addr);
    (s, url)
}

/// (status, body) of a request; error statuses are answers too.
fn call(method: &str, url: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let req = ureq::request(method, url);
    let res = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let res = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = res.status();
    (
        status,
        serde_json::from_str(&res.into_string().unwrap()).unwrap(),
    )
}

fn error_code(v: &serde_json::Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn predictions_equal_the_predictors_and_every_bad_request_is_refused_clearly() {
    let f = fixture();
    let (server, url) = serve(
        &f,
        ServeOptions {
            max_texts: 4,
            max_body_bytes: 2_000,
            ..ServeOptions::default()
        },
    );
    let texts = [
        "the movie was great fun",
        "boring and awful",
        "it was really bad",
    ];
    let (status, body) = call(
        "POST",
        &format!("{url}/predict"),
        Some(&serde_json::json!({ "texts": texts }).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let want = f
        .predictor
        .predict(&texts.map(String::from), &CancelToken::new())
        .unwrap();
    let got = body["predictions"].as_array().unwrap();
    assert_eq!(got.len(), texts.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["label"], w.label.as_str());
        for (label, p) in f.predictor.labels().iter().zip(&w.probs) {
            let served = g["probabilities"][label].as_f64().unwrap();
            assert!((served - f64::from(*p)).abs() < 1e-5, "{g} vs {w:?}");
        }
        assert_eq!(
            g["confidence"].as_f64().unwrap(),
            f64::from(w.probs[w.label_id])
        );
    }

    let (status, body) = call("GET", &format!("{url}/health"), None);
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = call("GET", &format!("{url}/info"), None);
    assert_eq!(status, 200);
    assert_eq!(body["labels"], serde_json::json!(["negative", "positive"]));
    assert_eq!(body["limits"]["max_texts_per_request"], 4);

    let predict = format!("{url}/predict");
    let long = "x".repeat(3_000);
    let (health, nothing) = (format!("{url}/health"), format!("{url}/nothing"));
    let bad: Vec<(&str, &str, Option<String>, u16, &str)> = vec![
        ("POST", &predict, Some("{not json".into()), 400, "badJson"),
        ("POST", &predict, Some("{}".into()), 400, "noTexts"),
        (
            "POST",
            &predict,
            Some(r#"{"texts": []}"#.into()),
            400,
            "noTexts",
        ),
        (
            "POST",
            &predict,
            Some(r#"{"texts": "one"}"#.into()),
            400,
            "badTexts",
        ),
        (
            "POST",
            &predict,
            Some(r#"{"texts": ["a", 2]}"#.into()),
            400,
            "badTexts",
        ),
        (
            "POST",
            &predict,
            Some(r#"{"texts": ["a","b","c","d","e"]}"#.into()),
            413,
            "tooManyTexts",
        ),
        (
            "POST",
            &predict,
            Some(format!(r#"{{"texts": ["{long}"]}}"#)),
            413,
            "bodyTooLarge",
        ),
        ("GET", &predict, None, 405, "methodNotAllowed"),
        ("POST", &health, Some("{}".into()), 405, "methodNotAllowed"),
        ("GET", &nothing, None, 404, "notFound"),
    ];
    for (method, u, body, want_status, want_code) in bad {
        let (status, answer) = call(method, u, body.as_deref());
        assert_eq!(
            (status, error_code(&answer)),
            (want_status, want_code),
            "{method} {u} {body:?}: {answer}"
        );
        assert!(
            answer["error"]["message"].as_str().unwrap().len() > 20,
            "a message that says what to do: {answer}"
        );
    }
    // The server still answers after every refusal.
    let (status, _) = call("POST", &predict, Some(r#"{"texts": ["fun"]}"#));
    assert_eq!(status, 200);
    server.shutdown();
}

#[test]
fn concurrent_requests_are_batched_and_each_gets_its_own_answers() {
    let f = fixture();
    let (server, url) = serve(&f, ServeOptions::default());
    let data = studio_core::testing::tiny_data(20, 9);
    let want = f
        .predictor
        .predict(&data.texts, &CancelToken::new())
        .unwrap();
    std::thread::scope(|s| {
        for (i, chunk) in data.texts.chunks(3).enumerate() {
            let (url, want) = (&url, &want);
            s.spawn(move || {
                let body = serde_json::json!({ "texts": chunk }).to_string();
                let (status, answer) = call("POST", &format!("{url}/predict"), Some(&body));
                assert_eq!(status, 200, "{answer}");
                let got = answer["predictions"].as_array().unwrap();
                assert_eq!(got.len(), chunk.len());
                for (j, g) in got.iter().enumerate() {
                    assert_eq!(
                        g["label"],
                        want[i * 3 + j].label.as_str(),
                        "request {i} text {j}"
                    );
                }
            });
        }
    });
    server.shutdown();
}

#[test]
fn a_full_queue_answers_503_and_a_shutdown_answers_every_request_sent_before_it() {
    let f = fixture();
    let (server, url) = serve(
        &f,
        ServeOptions {
            queue: 1,
            max_batch: 1,
            readers: 8,
            max_texts: 400,
            max_body_bytes: 1 << 20,
            ..ServeOptions::default()
        },
    );
    // Slow requests (many texts each, one text per model pass) from many clients at
    // once: the one-place queue overflows.
    let data = studio_core::testing::tiny_data(150, 3);
    let body = serde_json::json!({ "texts": data.texts }).to_string();
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (url, body) = (&url, &body);
                s.spawn(move || {
                    let (status, answer) = call("POST", &format!("{url}/predict"), Some(body));
                    (status, error_code(&answer).to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy = statuses.iter().filter(|(s, _)| *s == 503).count();
    assert!(busy >= 1, "no request was turned away: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|(s, c)| *s == 200 || (*s == 503 && c == "busy")),
        "{statuses:?}"
    );

    // Requests in flight when the server is told to stop are all answered.
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (url, body) = (&url, &body);
                s.spawn(move || {
                    // `call` fails the test on a dropped connection: every request
                    // sent before the stop must get an answer.
                    call("POST", &format!("{url}/predict"), Some(body)).0
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(100));
        server.shutdown();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert!(
        results.iter().all(|s| *s == 200 || *s == 503),
        "{results:?}"
    );
    assert!(results.contains(&200), "{results:?}");
}
