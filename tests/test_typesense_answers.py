"""How kb's client waits on a Typesense node: a node that accepted a request is waited for, one that does not
accept connections is left for the next. A stand-in node on loopback answers after a set delay, which a real
node cannot be made to do on demand (at 100k items the export of the filter values took 6.8 s)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from indexer.typesense.connection import TIMEOUT, Connection
from indexer.typesense.searches import multi

if not os.environ.get("KB_REQUIRE_TYPESENSE"):
    pytest.importorskip("typesense")

DELAY = TIMEOUT + 1.5
pytestmark = pytest.mark.slow


class SlowNode(BaseHTTPRequestHandler):
    """Answers every search after DELAY seconds, with one found document."""

    asked = 0

    def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
        type(self).asked += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(DELAY)
        body = json.dumps({"results": [{"found": 1, "hits": [{"document": {"id": "a"}}]}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_node():
    SlowNode.asked = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_node_that_answers_slowly_is_waited_for_and_asked_once(slow_node):
    client = Connection((slow_node,), "key").client()
    answers = multi(client, [{"collection": "items", "q": "*"}])
    assert answers[0]["found"] == 1
    assert SlowNode.asked == 1


def test_a_node_that_refuses_connections_is_passed_over_for_the_next(slow_node):
    down = f"http://127.0.0.1:{free_port()}"
    client = Connection((down, slow_node), "key").client()
    started = time.monotonic()
    answers = multi(client, [{"collection": "items", "q": "*"}])
    assert answers[0]["found"] == 1
    assert time.monotonic() - started < DELAY + TIMEOUT
