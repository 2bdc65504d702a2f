#!/usr/bin/env python3
"""Python baseline for `studio serve`: a transformers text-classification pipeline
(PyTorch, CPU) behind the same HTTP contract, for side-by-side load tests.

    POST /predict {"texts": ["...", ...]}
      -> 200 {"predictions": [{"label", "confidence", "probabilities": {label: p}}, ...]}
    GET  /health  -> 200 {"status": "ok"}
    GET  /info    -> 200 {"labels": [...], "model": ..., "backend": ..., ...}
    errors        -> {"error": {"code": "...", "message": "..."}} with 400/404/405/413/503,
                     codes as `studio serve` names them (badJson, noTexts, badTexts,
                     tooManyTexts, bodyTooLarge, notFound, methodNotAllowed, busy)

Run with the peers virtualenv (scripts/setup-peers), offline:
    "$STUDIO_CACHE/venv-peers/bin/python" scripts/baseline_server.py --model DIR --port 8081

A ThreadingHTTPServer takes the connections (HTTP/1.1 keep-alive); one worker thread runs
the model, so requests are served one at a time in arrival order (with --batch, requests
already waiting are merged into one forward pass). When more than --max-pending requests
wait, new ones get 503. Prints "listening on http://HOST:PORT" once the model is loaded.
"""
import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Serve a transformers text classifier (PyTorch, CPU) behind the `studio serve` HTTP contract.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="transformers sequence-classification folder")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one (default: 8080)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default: 2)")
    p.add_argument("--max-texts", type=int, default=256, help="most texts in one request, else 413 (default: 256)")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body, else 413 (default: 1 MiB)")
    p.add_argument("--max-pending", type=int, default=1024,
                   help="requests allowed to wait for the model; more get 503 (default: 1024)")
    p.add_argument("--batch-size", type=int, default=32, help="pipeline batch size within a request (default: 32)")
    p.add_argument("--batch", action="store_true",
                   help="merge requests that are already waiting into one pipeline call (off by default)")
    p.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    a = p.parse_args(argv)
    if not os.path.isdir(a.model):
        p.error(f"--model {a.model!r} is not a folder")
    if not os.path.isfile(os.path.join(a.model, "config.json")):
        p.error(f"--model {a.model!r} has no config.json (not a transformers folder)")
    for name in ("threads", "max_texts", "max_body_bytes", "max_pending", "batch_size"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if not 0 <= a.port <= 65535:
        p.error("--port must be 0..65535")
    return a


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Job:
    __slots__ = ("texts", "done", "result", "error")

    def __init__(self, texts):
        self.texts = texts
        self.done = threading.Event()
        self.result = None
        self.error = None


class Model:
    """Loads the pipeline and runs it on one worker thread fed by a bounded queue."""

    def __init__(self, args):
        import torch
        from transformers import pipeline

        torch.set_num_threads(args.threads)
        self.torch = torch
        self.args = args
        t0 = time.perf_counter()
        self.pipe = pipeline("text-classification", model=args.model, top_k=None, device="cpu")
        self.load_s = time.perf_counter() - t0
        cfg = self.pipe.model.config
        self.labels = [cfg.id2label[i] for i in sorted(cfg.id2label)]
        self.max_tokens = getattr(cfg, "max_position_embeddings", None)
        if getattr(cfg, "model_type", "") in ("xlm-roberta", "roberta", "camembert") and self.max_tokens:
            self.max_tokens -= 2
        self.model_type = getattr(cfg, "model_type", None)
        self.queue = queue.Queue(maxsize=args.max_pending)
        self.worker = threading.Thread(target=self._run, name="model-worker", daemon=True)
        self.worker.start()

    def submit(self, texts):
        job = Job(texts)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            raise ApiError(503, "busy", f"more than {self.args.max_pending} requests are waiting; retry later")
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def _take_batch(self):
        jobs = [self.queue.get()]
        if self.args.batch:
            n = len(jobs[0].texts)
            while n < self.args.max_texts:
                try:
                    j = self.queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(j)
                n += len(j.texts)
        return jobs

    def _run(self):
        while True:
            jobs = self._take_batch()
            texts = [t for j in jobs for t in j.texts]
            try:
                preds = self._predict(texts)
                k = 0
                for j in jobs:
                    j.result = preds[k:k + len(j.texts)]
                    k += len(j.texts)
            except Exception as e:  # a model failure answers 500-ish as 503, keeps serving
                for j in jobs:
                    j.error = ApiError(503, "inferenceFailed", f"{type(e).__name__}: {e}")
            for j in jobs:
                j.done.set()

    def _predict(self, texts):
        kwargs = {"batch_size": min(self.args.batch_size, len(texts)), "truncation": True}
        if self.max_tokens:
            kwargs["max_length"] = self.max_tokens
        with self.torch.inference_mode():
            out = self.pipe(texts, **kwargs)
        preds = []
        for scores in out:
            if isinstance(scores, dict):  # a single-label answer; should not happen with top_k=None
                scores = [scores]
            probs = {s["label"]: float(s["score"]) for s in scores}
            probs = {lab: probs.get(lab, 0.0) for lab in self.labels}
            best = max(self.labels, key=lambda lab: probs[lab])
            preds.append({"label": best, "confidence": probs[best], "probabilities": probs})
        return preds


def make_handler(model, args, started):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "studio-baseline/1"
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle + the client's
        # delayed ACK add ~40 ms to every keep-alive response.
        disable_nagle_algorithm = True

        def log_message(self, fmt, *a):
            if not args.quiet:
                sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % a))

        def _send(self, status, obj, extra_headers=()):
            body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra_headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, err, extra_headers=()):
            self._send(err.status, {"error": {"code": err.code, "message": err.message}}, extra_headers)

        def _route(self, method):
            path = self.path.split("?", 1)[0]
            routes = {"/predict": "POST", "/health": "GET", "/info": "GET"}
            if path not in routes:
                raise ApiError(404, "notFound", f"no route {path}; try POST /predict, GET /health, GET /info")
            if routes[path] != method:
                raise ApiError(405, "methodNotAllowed", f"{path} takes {routes[path]}, not {method}")
            return path

        def _dispatch(self, method):
            try:
                path = self._route(method)
            except ApiError as e:
                # Drain any body so the keep-alive connection stays in sync.
                self._drain()
                allow = {"/predict": "POST", "/health": "GET", "/info": "GET"}.get(self.path.split("?", 1)[0])
                self._error(e, [("Allow", allow)] if e.status == 405 and allow else ())
                return
            try:
                if path == "/health":
                    self._send(200, {"status": "ok"})
                elif path == "/info":
                    self._send(200, {
                        "labels": model.labels,
                        "model": os.path.abspath(args.model),
                        "model_type": model.model_type,
                        "max_tokens": model.max_tokens,
                        "backend": f"transformers pipeline, torch {model.torch.__version__}, cpu, "
                                   f"{args.threads} thread(s)",
                        "limits": {
                            "max_batch": args.batch_size,
                            "max_body_bytes": args.max_body_bytes,
                            "max_texts_per_request": args.max_texts,
                            "queue": args.max_pending,
                        },
                        "uptime_s": round(time.time() - started, 1),
                    })
                else:
                    self._predict()
            except ApiError as e:
                self._error(e)

        def _drain(self):
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                n = 0
            if 0 < n <= args.max_body_bytes:
                self.rfile.read(n)
            elif n > args.max_body_bytes:
                self.close_connection = True

        def _predict(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self.close_connection = True
                raise ApiError(400, "badRequest", "chunked bodies are not supported; send Content-Length")
            length = self.headers.get("Content-Length")
            if length is None:
                raise ApiError(400, "badRequest", "missing Content-Length")
            try:
                n = int(length)
            except ValueError:
                self.close_connection = True
                raise ApiError(400, "badRequest", "Content-Length is not a number")
            if n > args.max_body_bytes:
                self.close_connection = True  # the body is not read
                raise ApiError(413, "bodyTooLarge", f"body of {n} bytes is over the {args.max_body_bytes}-byte limit")
            raw = self.rfile.read(n)
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise ApiError(400, "badJson", f"body is not UTF-8 JSON: {e}")
            if not isinstance(obj, dict) or "texts" not in obj:
                raise ApiError(400, "noTexts", 'body must be a JSON object {"texts": ["...", ...]}')
            texts = obj["texts"]
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ApiError(400, "badTexts", '"texts" must be a list of strings')
            if not texts:
                raise ApiError(400, "noTexts", '"texts" is empty')
            if len(texts) > args.max_texts:
                raise ApiError(413, "tooManyTexts", f"{len(texts)} texts is over the limit of {args.max_texts} a request")
            self._send(200, {"predictions": model.submit(texts)})

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

        def do_PUT(self):
            self._dispatch("PUT")

        def do_DELETE(self):
            self._dispatch("DELETE")

        def do_PATCH(self):
            self._dispatch("PATCH")

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen backlog, so 64+ clients connecting at once are not refused


def main(argv=None):
    args = parse_args(argv)
    try:
        model = Model(args)
    except Exception as e:
        print(f"baseline_server: cannot load {args.model}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    try:
        server = Server((args.host, args.port), make_handler(model, args, time.time()))
    except OSError as e:
        print(f"baseline_server: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(f"baseline_server: model {args.model} loaded in {model.load_s:.1f} s; labels {model.labels}; "
          f"torch threads {args.threads}", file=sys.stderr, flush=True)
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("baseline_server: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
