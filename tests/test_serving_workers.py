"""The descriptor-leak check of tests/test_serving.py against gunicorn's worker processes.

A file of its own, so that the parallel test run can give it to the other worker."""

from __future__ import annotations

import pytest

from tests.test_serving import BIN, needs_proc, serve_searches_without_leaking


@pytest.mark.slow
@needs_proc
def test_thousands_of_searches_leak_no_descriptors_in_gunicorn_workers(sample_index, tmp_path):
    command = [str(BIN / "gunicorn"), "--workers", "2", "--bind", "127.0.0.1:{port}", "webui:create_app()"]
    serve_searches_without_leaking(command, sample_index, tmp_path)
