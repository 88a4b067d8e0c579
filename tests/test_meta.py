"""Rules about the code base itself."""

import ast
import sys
from pathlib import Path

import pytest

from indexer.cli import cli
from tests.conftest import ROOT

STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_domain_core_uses_only_the_standard_library_and_itself():
    for path in (ROOT / "kb").glob("*.py"):
        outside = imports_of(path) - STDLIB - {"kb", "__future__"}
        assert not outside, f"{path.name} imports {outside}"


def test_domain_core_does_no_file_io():
    for path in (ROOT / "kb").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for banned in ("open(", "os.environ", "Path(", "read_text", "write_text"):
            assert banned not in source, f"{path.name} uses {banned}"


def test_whoosh_is_imported_only_inside_indexer():
    for folder in ("kb", "webui"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "whoosh" not in imports_of(path), path


def modules_imported(path: Path) -> set[str]:
    """Full names of the modules a file imports (`from indexer.store import X` -> indexer.store)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_layers_import_one_way():
    """kb <- indexer <- webui: the domain knows no files or web, the index knows no web; only the
    command line (indexer.cli), an edge like the web UI, starts the web server."""
    for path in (ROOT / "kb").rglob("*.py"):
        assert not {m for m in modules_imported(path) if m.split(".")[0] in ("indexer", "webui")}, path
    for path in (ROOT / "indexer").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "indexer").parts:
            continue
        assert not {m for m in modules_imported(path) if m.split(".")[0] == "webui"}, path


def test_the_web_ui_reaches_the_index_only_through_the_library():
    """A second search backend plugs in without touching webui/: views use indexer.library, never the
    Whoosh store, its searching or its lookups."""
    engine = {"indexer.store", "indexer.searching", "indexer.lookups", "indexer.schema", "indexer.writing",
              "indexer.bitsets", "indexer.reindex", "indexer.fullbuild", "indexer.incremental"}
    for path in (ROOT / "webui").rglob("*.py"):
        assert not modules_imported(path) & engine, f"{path.name} imports {modules_imported(path) & engine}"


def test_no_module_is_over_400_lines():
    for folder in ("kb", "indexer", "webui"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines"


def test_importing_needs_no_posix_only_module():
    """The packages import on macOS and Windows: POSIX-only modules are imported where they are used,
    behind a guard, never at the top of a module (locks go through portalocker)."""
    posix_only = {"fcntl", "resource", "termios", "pwd", "grp"}
    for folder in ("kb", "indexer", "webui"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
            top |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
            assert not top & posix_only, f"{path.relative_to(ROOT)} imports {top & posix_only} at the top"


def test_a_reindex_and_its_readers_start_without_numpy():
    """Searches score and count with numpy; a reindex forks its readers before it needs it, so the
    modules a reindex imports leave it out (13 MB in each of its processes at 100,000 items)."""
    import subprocess
    import sys

    script = "import sys, indexer.cli, indexer.library, indexer.reindex, indexer.readpool; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_every_cli_command_appears_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli.list_commands(None):
        assert f"kb {name}" in readme, f"'kb {name}' is not documented in README.md"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


@pytest.mark.slow
def test_another_search_backend_serves_the_same_web_ui(sample, tmp_path):
    """The FTS5 reference of the benchmarks plugs in behind kb.backend without any change to webui/."""
    from bench.fts5_ref import build
    from bench.web_fts5 import Fts5Backend
    from indexer.content import load_vocabulary
    from kb.settings import Settings
    from webui import create_app

    db = tmp_path / "fts5.db"
    build(sample, db)
    backend = Fts5Backend(db, load_vocabulary(sample))
    settings = Settings(content=str(sample), index=str(tmp_path / "no-whoosh-index"), data=str(tmp_path / "data"))
    client = create_app(settings, backend=backend).test_client()
    data = client.get("/search.json?q=capitation").get_json()
    assert data["total"] > 0 and data["hits"][0]["url"]
    page = client.get("/search?q=capitation&type=discussion")
    assert page.status_code == 200 and "capitation" in page.get_data(as_text=True).lower()
    item = client.get(data["hits"][0]["url"])
    assert item.status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert not (tmp_path / "no-whoosh-index").exists()  # the Whoosh index was never opened or made
