#!/usr/bin/env python3
"""Load-test a text-classification HTTP server that speaks the Studio serve contract.

    POST /predict {"texts": [...]}  ->  200 {"predictions": [{"label": ..., ...}, ...]}

Standard library only, so any python3 runs it. Each concurrency level starts that many
client threads; every client keeps one keep-alive connection (http.client) and sends its
requests one after another, using real texts from the CSV in order (cycling, so lengths
vary). Per level it reports requests, errors (non-200, 503 separately, and 200 responses
whose predictions do not match the texts sent), p50/p95/p99 latency in ms (successful
requests) and throughput (requests/s and texts/s, successful ones over the level's wall
time). Prints a markdown table; --json writes the numbers.

Example:
    python3 scripts/load_test.py --url http://127.0.0.1:8080 \\
        --texts ~/.cache/studio/data/movies/test.csv --concurrency 1,8,64 --json out.json
"""
import argparse
import csv
import http.client
import json
import math
import os
import sys
import threading
import time
import urllib.parse


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Reports latency percentiles and throughput per concurrency level.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit status: 0 when every level ran (errors are reported, not fatal); "
        "2 on bad arguments or unreadable input; 3 when the server cannot be reached at all.",
    )
    p.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--texts", required=True, help="CSV file with a header row holding the texts")
    p.add_argument("--text-col", default="text", help="column of --texts holding the text (default: text)")
    p.add_argument("--concurrency", default="1,8,64", help="comma-separated client counts (default: 1,8,64)")
    p.add_argument("--requests-per-level", type=int, default=400,
                   help="measured requests per level, split over the clients (default: 400)")
    p.add_argument("--warmup", type=int, default=20,
                   help="unmeasured requests sent first on one connection (default: 20)")
    p.add_argument("--texts-per-request", type=int, default=1, help="texts in each request body (default: 1)")
    p.add_argument("--timeout", type=float, default=120.0, help="per-request socket timeout in seconds (default: 120)")
    p.add_argument("--json", dest="json_out", help="write the results to this JSON file")
    p.add_argument("--name", default=None, help="label for this server in the output (default: the URL)")
    a = p.parse_args(argv)
    try:
        a.levels = [int(x) for x in a.concurrency.split(",") if x.strip()]
    except ValueError:
        p.error(f"--concurrency must be comma-separated integers, got {a.concurrency!r}")
    if not a.levels or any(c < 1 for c in a.levels):
        p.error("--concurrency needs at least one level, each >= 1")
    if a.requests_per_level < 1:
        p.error("--requests-per-level must be >= 1")
    if a.warmup < 0:
        p.error("--warmup must be >= 0")
    if a.texts_per_request < 1:
        p.error("--texts-per-request must be >= 1")
    u = urllib.parse.urlsplit(a.url)
    if u.scheme != "http" or not u.hostname:
        p.error(f"--url must look like http://HOST:PORT, got {a.url!r}")
    a.host = u.hostname
    a.port = u.port or 80
    a.path = (u.path.rstrip("/") or "") + "/predict"
    if a.name is None:
        a.name = a.url
    return a


def die(msg):
    print(f"load_test: {msg}", file=sys.stderr)
    sys.exit(2)


def read_texts(path, col):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or col not in reader.fieldnames:
                die(f"{path}: no column {col!r} (columns: {reader.fieldnames})")
            texts = [row[col] for row in reader if row.get(col)]
    except OSError as e:
        die(f"cannot read {path}: {e}")
    if not texts:
        die(f"{path}: no non-empty texts in column {col!r}")
    return texts


class TextSource:
    """Hands out texts in file order, cycling; shared by all clients of a run."""

    def __init__(self, texts):
        self.texts = texts
        self.i = 0
        self.lock = threading.Lock()

    def take(self, n):
        with self.lock:
            out = [self.texts[(self.i + k) % len(self.texts)] for k in range(n)]
            self.i = (self.i + n) % len(self.texts)
        return out


class Client:
    def __init__(self, args):
        self.args = args
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.args.host, self.args.port, timeout=self.args.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, texts):
        """One POST /predict. Returns (outcome, seconds); outcome is 'ok', an HTTP status
        int, 'mismatch' (200 with wrong predictions) or 'conn' (connection failure)."""
        body = json.dumps({"texts": texts}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            t0 = time.perf_counter()
            try:
                self.conn.request("POST", self.args.path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                dt = time.perf_counter() - t0
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                # A keep-alive connection the server closed while idle: reconnect once.
                self.close()
                if attempt == 0:
                    continue
                return "conn", time.perf_counter() - t0, str(e)
            except (OSError, http.client.HTTPException) as e:
                self.close()
                return "conn", time.perf_counter() - t0, str(e)
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            if resp.status != 200:
                return resp.status, dt, data[:200].decode("utf-8", "replace")
            problem = check_body(data, len(texts))
            if problem:
                return "mismatch", dt, problem
            return "ok", dt, None
        return "conn", 0.0, "unreachable"


def check_body(data, n_texts):
    try:
        obj = json.loads(data)
    except ValueError:
        return "body is not JSON"
    preds = obj.get("predictions") if isinstance(obj, dict) else None
    if not isinstance(preds, list):
        return "no 'predictions' list"
    if len(preds) != n_texts:
        return f"{len(preds)} predictions for {n_texts} texts"
    for p in preds:
        if not isinstance(p, dict) or not isinstance(p.get("label"), str) or not p["label"]:
            return "a prediction without a label"
    return None


def percentile(sorted_vals, q):
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_vals:
        return None
    k = max(1, math.ceil(q / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def run_level(args, source, concurrency):
    n = args.requests_per_level
    # Split n requests over the clients as evenly as possible.
    quotas = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]
    latencies = []
    outcomes = {}
    samples = []
    lock = threading.Lock()
    start_barrier = threading.Barrier(concurrency + 1)

    def worker(quota):
        client = Client(args)
        local_lat, local_out, local_samples = [], {}, []
        try:
            start_barrier.wait()
            for _ in range(quota):
                outcome, dt, detail = client.send(source.take(args.texts_per_request))
                local_out[outcome] = local_out.get(outcome, 0) + 1
                if outcome == "ok":
                    local_lat.append(dt)
                elif len(local_samples) < 3:
                    local_samples.append(f"{outcome}: {detail}")
        finally:
            client.close()
            with lock:
                latencies.extend(local_lat)
                for k, v in local_out.items():
                    outcomes[k] = outcomes.get(k, 0) + v
                samples.extend(local_samples)

    threads = [threading.Thread(target=worker, args=(q,), daemon=True) for q in quotas]
    for t in threads:
        t.start()
    start_barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0

    ok = outcomes.get("ok", 0)
    total = sum(outcomes.values())
    non200 = sum(v for k, v in outcomes.items() if isinstance(k, int)) + outcomes.get("conn", 0)
    lat = sorted(latencies)
    ms = lambda s: None if s is None else round(s * 1000.0, 2)
    return {
        "concurrency": concurrency,
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "non_200": non200,
        "status_503": outcomes.get(503, 0),
        "mismatched": outcomes.get("mismatch", 0),
        "connection_errors": outcomes.get("conn", 0),
        "status_counts": {str(k): v for k, v in sorted(outcomes.items(), key=lambda kv: str(kv[0]))},
        "p50_ms": ms(percentile(lat, 50)),
        "p95_ms": ms(percentile(lat, 95)),
        "p99_ms": ms(percentile(lat, 99)),
        "mean_ms": ms(sum(lat) / len(lat)) if lat else None,
        "wall_s": round(wall, 3),
        "requests_per_s": round(ok / wall, 2) if wall > 0 else None,
        "texts_per_s": round(ok * args.texts_per_request / wall, 2) if wall > 0 else None,
        "error_samples": samples[:5],
    }


def fmt(v):
    return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))


def print_table(name, results):
    print(f"\n### {name}\n")
    print("| clients | requests | errors | non-200 | 503 | mismatched | p50 ms | p95 ms | p99 ms | req/s | texts/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['concurrency']} | {r['requests']} | {r['errors']} | {r['non_200']} | {r['status_503']} | "
              f"{r['mismatched']} | {fmt(r['p50_ms'])} | {fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | "
              f"{fmt(r['requests_per_s'])} | {fmt(r['texts_per_s'])} |")


def main(argv=None):
    args = parse_args(argv)
    texts = read_texts(args.texts, args.text_col)
    source = TextSource(texts)

    # Reachability + warmup on one connection; a server that cannot be reached at all is fatal.
    client = Client(args)
    first = client.send(source.take(args.texts_per_request))
    if first[0] == "conn":
        print(f"load_test: cannot reach {args.url}: {first[2]}", file=sys.stderr)
        return 3
    warm_bad = 0 if first[0] == "ok" else 1
    for _ in range(max(0, args.warmup - 1)):
        if client.send(source.take(args.texts_per_request))[0] != "ok":
            warm_bad += 1
    client.close()
    if warm_bad:
        print(f"load_test: warning: {warm_bad} of {max(1, args.warmup)} warmup requests failed "
              f"(first: {first[0]} {first[2] or ''})", file=sys.stderr)

    results = []
    for c in args.levels:
        print(f"load_test: {args.name}: {c} client(s), {args.requests_per_level} requests ...",
              file=sys.stderr, flush=True)
        r = run_level(args, source, c)
        for s in r["error_samples"]:
            print(f"load_test:   error sample: {s}", file=sys.stderr)
        results.append(r)

    print_table(args.name, results)
    report = {
        "name": args.name,
        "url": args.url,
        "texts_file": os.path.abspath(args.texts),
        "texts_in_file": len(texts),
        "texts_per_request": args.texts_per_request,
        "requests_per_level": args.requests_per_level,
        "warmup": args.warmup,
        "levels": results,
    }
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    total_err = sum(r["errors"] for r in results)
    print(f"\nload_test: {args.name}: {len(results)} level(s), "
          f"{sum(r['requests'] for r in results)} requests, {total_err} errors"
          + (f"; wrote {args.json_out}" if args.json_out else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
