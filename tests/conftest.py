"""Shared test set-up: hypothesis profile and the rule that CI never skips."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from autograd import ops

settings.register_profile(
    "chainrule", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("chainrule")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip outside CI; in CI (where .ci/run installs everything) a missing tool is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI installs it, so this must not be missing)")
    pytest.skip(reason)


def require_program(name: str) -> str:
    """The path of a system program such as ``dot`` or ``chromium``."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"the system program {name!r} is not installed")
    return path


def require_module(name: str):
    """Import an optional module such as ``torch``; never a silent skip in CI."""
    try:
        return __import__(name)
    except ImportError:
        unavailable(f"the Python package {name!r} is not installed (pip install -e '.[dev]')")


def require_npm_package(name: str) -> Path:
    """The folder of an npm package (such as ``pyodide``) installed by ``npm ci``."""
    require_program("node")
    folder = Path(__file__).resolve().parent.parent / "node_modules" / name
    if not (folder / "package.json").exists():
        unavailable(f"the npm package {name!r} is not installed (run npm ci)")
    return folder


@pytest.fixture(autouse=True)
def registered_ops_are_forgotten_after_each_test():
    """register_op adds to a process-wide registry: each test starts with the built-in ops."""
    before_ops, before_functions = dict(ops.OPS), dict(ops.FUNCTIONS)
    yield
    ops.OPS.clear()
    ops.OPS.update(before_ops)
    ops.FUNCTIONS.clear()
    ops.FUNCTIONS.update(before_functions)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@contextlib.contextmanager
def static_server(folder: Path):
    """A plain static file server for ``folder`` on localhost (like ``python -m http.server
    -d folder``): its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def page_data(page: str) -> dict:
    """The JSON an HTML page of the library (stepper, animation) draws from: its
    ``<script type="application/json" id="page-data">``."""
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page,
                      re.DOTALL)
    assert match, "the page embeds its data as JSON"
    return json.loads(match.group(1))


#: How tests start Chromium here: headless, as root, and with no background network traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """The system Chromium driven by Playwright (one per test module)."""
    executable = require_program("chromium")
    require_module("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
