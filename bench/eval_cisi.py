"""Retrieval quality on CISI only: kb against bm25s (see bench/eval.py, which also runs the known items).

    python bench/eval_cisi.py [--json]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--only", "cisi", *sys.argv[1:]]))
