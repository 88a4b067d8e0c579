"""Shared fixtures: the sample community copied aside, its index, the app, a CLI runner.

Tests own their data. The sample they use is the one committed to git (the
`content/` folder as of HEAD), extracted once per test session into a temporary
folder; each test that writes gets its own copy of that. What someone tries in
the live `content/` folder (tagging through the web UI, `kb tag`) therefore never
changes a test's outcome; commit a change to the sample before testing it.
Outside a git checkout the folder itself is copied. Every test runs in its own
temporary working directory, and KB_CONTENT, KB_INDEX and KB_DATA point to
empty temporary places, so a command that forgets its paths cannot reach the
live `content/`, `.kb-index` or `.kb-data`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import sharedresults
from indexer.library import Library
from indexer.reindex import reindex
from indexer.store import IndexStore
from kb.settings import Settings
from webui import create_app

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
_LIVE_SAMPLE = ROOT / "content"


def committed_sample(target: Path) -> Path:
    """Write the sample community as committed (git HEAD) into `target`; the folder itself without git."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD", "content"],
                                 capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        shutil.copytree(_LIVE_SAMPLE, target)
        return target
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(target.parent / ".extract", **safe)
    (target.parent / ".extract" / "content").rename(target)
    shutil.rmtree(target.parent / ".extract")
    return target


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Accounts, logs and the session key go to a temporary folder; default paths lead nowhere live."""
    path = tmp_path_factory.mktemp("data")
    nowhere = tmp_path_factory.mktemp("nowhere")
    os.environ["KB_DATA"] = str(path)
    os.environ["KB_CONTENT"] = str(nowhere / "content")
    os.environ["KB_INDEX"] = str(nowhere / "index")
    # Search by meaning embeds every item (about 0.1 s of CPU each): tests that need it turn it on.
    os.environ["KB_SEMANTIC"] = "0"
    # `kb reindex` run in a test process would lower that process's priority for the rest of the session.
    os.environ["KB_REINDEX_NICE"] = "0"
    return path


@pytest.fixture(autouse=True)
def own_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (`content`, `.kb-index`) resolve inside the test's own folder, never the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed sample community, read-only: copy it before changing anything."""
    return committed_sample(tmp_path_factory.mktemp("committed") / "content")


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, sample: Path) -> tuple[Path, Path]:
    """The sample community indexed once per test session (read-only for tests)."""
    base = tmp_path_factory.mktemp("sample")
    content = base / "content"
    shutil.copytree(sample, content)
    index = base / "index"
    summary = reindex(content, index)
    assert summary.indexed >= 60 and not summary.failed
    return content, index


@pytest.fixture(scope="session")
def store(sample_index: tuple[Path, Path]) -> IndexStore:
    return IndexStore(sample_index[1])


@pytest.fixture(scope="session")
def typesense_node(tmp_path_factory: pytest.TempPathFactory):
    """One Typesense node on a free loopback port, from the wrapper's binary; stopped by its PID at the end.
    Skips where the binary is not installed, unless KB_REQUIRE_TYPESENSE is set (.ci/run sets it)."""
    from indexer.typesense import cluster
    from indexer.typesense.connection import Connection

    if cluster.binary() is None:
        if os.environ.get("KB_REQUIRE_TYPESENSE"):
            raise RuntimeError("KB_REQUIRE_TYPESENSE is set but typesense-server is not installed")
        pytest.skip("typesense-server is not installed (pip install 'cop-kb[typesense]')")
    folder = tmp_path_factory.mktemp("typesense")
    nodes, key = cluster.start(folder, count=1)
    yield Connection((nodes[0].url,), key)
    cluster.stop(folder)


@pytest.fixture(scope="session")
def cluster_store(tmp_path_factory: pytest.TempPathFactory, sample: Path, typesense_node):
    """The sample community indexed once per session into a Typesense node, searched from there."""
    from indexer.typesense.connection import Connection
    from indexer.typesense.store import ClusterStore

    base = tmp_path_factory.mktemp("cluster")
    content = base / "content"
    shutil.copytree(sample, content)
    import indexer.typesense.postings as postings

    backend = ClusterStore(base / "index", Connection(typesense_node.urls, typesense_node.api_key, "contract"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings, "COMMON", 3)  # most of the sample's words get postings, as common words do at scale
        summary = reindex(content, backend, full=True)
    assert summary.indexed >= 60 and not summary.failed
    return backend


# The contract suite: tests that take `backend` run on the embedded index and on the cluster (the
# cluster's run starts a server: part of `make test`, not of test-fast).
BACKENDS = ["whoosh", pytest.param("typesense", marks=pytest.mark.slow)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):
    return request.getfixturevalue("store" if request.param == "whoosh" else "cluster_store")


@pytest.fixture()
def content_copy(tmp_path: Path, sample: Path) -> Path:
    """A private, writable copy of the sample community."""
    target = tmp_path / "content"
    shutil.copytree(sample, target)
    return target


@pytest.fixture()
def indexed_copy(tmp_path: Path, sample_index: tuple[Path, Path]) -> tuple[Path, Path]:
    """A private, writable copy of the sample and of its index, as if `kb reindex` had just built it
    (copied, not rebuilt: file times are kept, so the next run sees nothing changed)."""
    content, index = tmp_path / "content", tmp_path / "ix"
    shutil.copytree(sample_index[0], content)
    # without the search results other tests' apps shared through the index folder (indexer.sharedresults)
    shutil.copytree(sample_index[1], index, ignore=shutil.ignore_patterns(f"{sharedresults.FILE}*"))
    return content, index


@pytest.fixture(scope="session")
def app(sample_index: tuple[Path, Path]):
    content, index = sample_index
    return create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index)})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def open_library(content: Path, index: Path, data: Path | None = None, **settings: object) -> Library:
    """The library the CLI and the web UI would open for these folders."""
    return Library.open(Settings(content=str(content), index=str(index), data=str(data or index.parent / "data"),
                                 **settings))


def write(path: Path, text: str | bytes) -> Path:
    """Write a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
