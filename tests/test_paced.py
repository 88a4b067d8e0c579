"""The bench's fixed-rate load (bench/paced.py) against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, HTTPServer
from itertools import islice

import pytest

from bench.paced import load_paced, zipf_paths

SERVICE_S = 0.1  # each answer of the test server, one at a time


class OneAtATime(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(SERVICE_S)
        body = b"ok"
        self.send_response(200 if "missing" not in self.path else 404)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Server-Timing", 'cache;desc="cache hit"' if "popular" in self.path else "search;dur=1")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server():
    server = HTTPServer(("127.0.0.1", 0), OneAtATime)  # one request at a time: the others queue
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_latency_counts_the_wait_behind_slower_answers(slow_server):
    # 20 requests a second for 1 s, against a server answering 10 a second: request i waits for the
    # i before it, so the last ones wait about a second. A client that sends only once answered
    # would see each answer take 0.1 s.
    result = load_paced(slow_server, ["popular"], rate=20, seconds=1, seed=1)
    assert result["requests"] == 20 and result["failed"] == 0
    assert result["p95_ms"] > 700, result
    assert result["p50_ms"] > 3 * SERVICE_S * 1000, result
    assert result["cache_hit_rate"] == 1.0


@pytest.mark.slow
def test_failed_answers_and_misses_are_counted(slow_server):
    result = load_paced(slow_server, ["missing"], rate=5, seconds=1, seed=1)
    assert result["failed"] == 5 and result["cache_hit_rate"] == 0.0


def test_each_seed_draws_its_own_zipf_sequence():
    queries = [f"q{rank}" for rank in range(1, 101)]
    first = list(islice(zipf_paths(queries, 1), 2000))
    assert first == list(islice(zipf_paths(queries, 1), 2000))
    assert first != list(islice(zipf_paths(queries, 2), 2000))
    counts = Counter(path.removeprefix("/search?q=") for path in first)
    # rank r is drawn with weight 1/r: rank 1 about twice as often as rank 2, ten times rank 10
    assert counts["q1"] > 1.5 * counts["q2"] and counts["q1"] > 5 * counts["q10"]


BURNING_SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Burn(BaseHTTPRequestHandler):
    def do_GET(self):
        until = time.process_time() + 0.02  # 20 ms of CPU an answer
        while time.process_time() < until:
            pass
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Burn)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.mark.slow
def test_the_bench_gives_the_servers_cpu_per_answered_request():
    """bench_scale.with_cpu: what an answer costs the server's processes, whatever the client's own share."""
    import subprocess
    import sys

    from bench.bench_scale import cpu_per_request, stop, with_cpu

    server = subprocess.Popen([sys.executable, "-c", BURNING_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        figures = with_cpu(server, lambda: load_paced(f"http://127.0.0.1:{port}", ["q"], rate=20, seconds=1, seed=1))
    finally:
        stop(server)
        server.stdout.close()
    assert figures["failed"] == 0
    assert 19 <= figures["cpu_ms_per_request"] <= 40, figures  # 20 ms burnt, and the answer's own handling
    assert 0 < figures["client_cpu_ms_per_request"] < 20, figures
    assert "CPU " in cpu_per_request(figures) and "req/s at most" in cpu_per_request(figures)
