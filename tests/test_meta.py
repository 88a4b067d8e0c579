"""Rules about the code base itself."""

import ast
import sys
from pathlib import Path

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


def test_every_cli_command_appears_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"kb {name}" in readme, f"'kb {name}' is not documented in README.md"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
