"""kb's connection to a Typesense cluster: every node known to the client, retries across them, node states.

Reads survive the loss of the leader when the client knows every node (measured: 0 failed reads of
5,354 with the leader killed). Two answers are retried on another node although the client itself
would not: a 404 for a collection or alias that a node still catching up does not have yet, and a
503 from a node that is not ready. Writes are retried as whole batches by the writer (upserts are
idempotent), for as long as a leader election takes.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from kb.errors import ConfigError
from kb.settings import Settings

T = TypeVar("T")
TIMEOUT = 2.0  # seconds to connect to one node: a node that does not accept a connection by then is tried no more
# Seconds to wait for the answer of a node that accepted the request. It is alive: a long answer (the export of a
# 100k-item collection's filter values took 6.8 s, the pages of a phrase several seconds) is waited for, not
# abandoned and asked again of the next node, which would fail the search and triple the work.
ANSWER = 60.0
# Raft states as /debug reports them.
STATES = {1: "leader", 4: "follower"}
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the nodes are reached without a proxy


@dataclass(frozen=True)
class Connection:
    """Where the cluster is and how to reach it; the API key never comes from a file of the project."""

    urls: tuple[str, ...]
    api_key: str = field(repr=False)  # never in a repr, a log or a status
    prefix: str = "kb"

    @classmethod
    def from_settings(cls, settings: Settings) -> Connection:
        urls = tuple(u.strip().rstrip("/") for u in settings.typesense_nodes.split(",") if u.strip())
        if not urls:
            raise ConfigError("KB_TYPESENSE_NODES must list the cluster's nodes, such as "
                              "http://10.0.0.1:8108,http://10.0.0.2:8108,http://10.0.0.3:8108")
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port:
                raise ConfigError(f"KB_TYPESENSE_NODES: {url!r} is not a node's URL such as http://10.0.0.1:8108")
        if not settings.typesense_api_key:
            raise ConfigError("KB_TYPESENSE_API_KEY must be set in the environment to reach the Typesense cluster")
        return cls(urls, settings.typesense_api_key, settings.typesense_prefix)

    def client(self, retries: int = 3) -> Any:
        import typesense

        nodes = []
        for url in self.urls:
            parts = urlsplit(url)
            nodes.append({"host": parts.hostname, "port": str(parts.port), "protocol": parts.scheme})
        client = typesense.Client({"nodes": nodes, "api_key": self.api_key, "num_retries": retries,
                                   "retry_interval_seconds": 0.1, "connection_timeout_seconds": TIMEOUT,
                                   "healthcheck_interval_seconds": 15})
        pooled(client.api_call)
        return client

    def nodes(self) -> list[dict[str, Any]]:
        """Each node's URL, whether it answers, its role (leader, follower) and version; never the key."""
        found = []
        for url in self.urls:
            entry: dict[str, Any] = {"url": url, "healthy": False, "role": "unreachable", "version": ""}
            try:
                entry["healthy"] = bool(self._get(url, "/health").get("ok"))
                debug = self._get(url, "/debug")
                entry["role"] = STATES.get(debug.get("state"), f"state {debug.get('state')}")
                entry["version"] = str(debug.get("version", ""))
            except (OSError, ValueError):
                pass
            found.append(entry)
        return found

    def answering(self) -> tuple[str, ...]:
        """The nodes that answer now. A node that is down catches up from the others when it comes back
        (Raft), so a write is done once every answering node, and a majority of all, hold it."""
        found = []
        for url in self.urls:
            try:
                self._get(url, "/health")
                found.append(url)
            except (OSError, ValueError):
                pass
        if len(found) < len(self.urls) // 2 + 1:
            from kb.errors import ValidationError
            raise ValidationError(f"only {len(found)} of the {len(self.urls)} Typesense nodes answer: "
                                  "a majority is needed to write; the collection that served still serves")
        return tuple(found)

    def leader(self) -> str:
        return next((n["url"] for n in self.nodes() if n["role"] == "leader"), "")

    def _get(self, url: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(url + path, headers={"X-TYPESENSE-API-KEY": self.api_key})
        with DIRECT.open(request, timeout=TIMEOUT) as answer:
            return json.loads(answer.read())


def pooled(call: Any) -> None:
    """Send a client's requests through one session of kept-alive connections. The client library calls
    `requests.get`/`post`..., a new TCP connection and a read of the proxy settings for every request: four
    requests a search page, about 2 ms each on loopback. The nodes are on a private network, reached
    directly (no HTTP proxy from the environment). A kept connection to a node that died fails like a new
    one would, and the client tries the next node."""
    import requests

    session = requests.Session()
    session.trust_env = False
    send, timeout = call.make_request, (call.config.connection_timeout_seconds, ANSWER)

    # The library's own five methods (typesense 0.16.0), with the session's in place of requests'.
    def get(endpoint: str, params: Any = None, as_json: bool = True) -> Any:
        return send(session.get, endpoint, as_json, params=params or {}, timeout=timeout)

    def post(endpoint: str, body: Any, params: Any = None, as_json: bool = True) -> Any:
        params = params or {}
        call.normalize_params(params)
        return send(session.post, endpoint, as_json, params=params, data=body, timeout=timeout)

    def put(endpoint: str, body: Any, params: Any = None) -> Any:
        return send(session.put, endpoint, True, params=params, data=body, timeout=timeout)

    def patch(endpoint: str, body: Any, params: Any = None) -> Any:
        return send(session.patch, endpoint, True, params=params, data=body, timeout=timeout)

    def delete(endpoint: str, params: Any = None) -> Any:
        return send(session.delete, endpoint, True, params=params, timeout=timeout)

    call.get, call.post, call.put, call.patch, call.delete = get, post, put, patch, delete


def retried(call: Callable[[], T], nodes: int, wait: float = 0.2, documents: bool = False) -> T:
    """`call()`, tried again (up to once per node, twice over) when a node answers that it lacks the
    collection (404) or is not ready (503): the client sends the next try to the next node. With
    `documents`, a missing document is tried again too (one that every node holds once it caught up)."""
    from typesense import exceptions

    tries = 2 * max(nodes, 1)
    for attempt in range(tries):
        try:
            return call()
        except (exceptions.ObjectNotFound, exceptions.ServiceUnavailable, exceptions.HTTPStatus0Error) as exc:
            # A missing document is an answer; a missing collection or alias is a node that lags behind.
            if attempt == tries - 1 or ("document" in str(exc).lower() and not documents):
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")
