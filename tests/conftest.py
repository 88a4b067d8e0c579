"""Shared fixtures: the sample community copied aside, its index, the app, a CLI runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.build import reindex
from indexer.store import IndexStore
from webui import create_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "content"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Accounts, logs and the session key of every test go to a temporary folder, never the checkout."""
    path = tmp_path_factory.mktemp("data")
    os.environ["KB_DATA"] = str(path)
    return path


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample community indexed once per test session (read-only for tests)."""
    base = tmp_path_factory.mktemp("sample")
    content = base / "content"
    shutil.copytree(SAMPLE, content)
    index = base / "index"
    summary = reindex(content, index)
    assert summary.indexed >= 60 and not summary.failed
    return content, index


@pytest.fixture(scope="session")
def store(sample_index: tuple[Path, Path]) -> IndexStore:
    return IndexStore(sample_index[1])


@pytest.fixture()
def content_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the sample community."""
    target = tmp_path / "content"
    shutil.copytree(SAMPLE, target)
    return target


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


def write(path: Path, text: str | bytes) -> Path:
    """Write a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
