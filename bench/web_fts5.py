"""The kb web app with its search served by the FTS5 reference, for the web benchmark.

Same Flask app, templates and view-models; only the search function differs.

    KB_FTS5_DB=... KB_CONTENT=... gunicorn 'bench.web_fts5:create_app()'
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fts5_ref import Fts5Search  # noqa: E402
from indexer import searching  # noqa: E402
from indexer.content import load_vocabulary  # noqa: E402
from webui import create_app as create_kb_app  # noqa: E402


def create_app():
    vocabulary = load_vocabulary(Path(os.environ["KB_CONTENT"]))
    fts5 = Fts5Search(Path(os.environ["KB_FTS5_DB"]), vocabulary)
    searching.search = lambda store, request, today=None: fts5(request)
    searching.vocabulary = lambda store: vocabulary
    return create_kb_app()
