"""Real servers for tests: `kb serve` in its own process on a free port of 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def kb_serve(content: Path, index: Path, log: Path, data: Path | None = None, *options: str) -> Iterator[str]:
    """Run `kb serve` until the block ends; yield its base URL once /healthz answers."""
    port = free_port()
    kb = Path(sys.executable).with_name("kb")
    extra = ["--data", str(data)] if data else []
    with open(log, "wb") as sink:
        proc = subprocess.Popen([str(kb), "--content", str(content), "--index", str(index), *extra,
                                 "serve", "--port", str(port), *options], stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            pytest.fail("kb serve did not start: " + log.read_text())
        if proc.poll() is not None:
            pytest.fail("kb serve stopped: " + log.read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def chromium_driver(profile: Path, console_log: bool = False, javascript: bool = True) -> Any:
    """Headless Debian chromium through chromedriver, with the flags this sandboxed machine needs
    (`javascript=False`: a browser with JavaScript switched off)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver
