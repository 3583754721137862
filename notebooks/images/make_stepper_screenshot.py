"""Regenerate stepper.png, the README's and the guide's picture of the backward-pass stepper.

    python notebooks/images/make_stepper_screenshot.py [--chromium /usr/bin/chromium]

Builds micrograd's lecture expression L = (a*b + c) * f, saves its stepper page, opens it in
headless Chromium through Playwright, steps through the forward pass to the middle of the
backward pass, opens the inspector on node e and takes a screenshot of the page.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from autograd import draw_graph, stepper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))  # the worked examples the tests use
from examples import lecture  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--steps", type=int, default=8,
                        help="how many times to press Next (3 forward steps, then backward)")
    parser.add_argument("--inspect", default="e", help="the node to open the inspector on")
    parser.add_argument("-o", "--output", default=str(HERE / "stepper.png"))
    options = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        L = lecture()
        page_path = stepper(L).save(Path(tmp) / "backprop.html")
        ids = draw_graph(L).node_ids
        inspect = next(ids[v] for v in ids if v.label == options.inspect)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=options.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 960, "height": 720},
                                    device_scale_factor=1.5)
            page.goto(Path(page_path).as_uri())
            for _ in range(options.steps):
                page.click("#next")
            page.click(f"#{inspect}")
            height = page.evaluate("() => document.body.scrollHeight")
            page.screenshot(path=options.output, full_page=True,
                            clip={"x": 0, "y": 0, "width": 960, "height": height + 12})
            browser.close()
    print(f"wrote {options.output}")


if __name__ == "__main__":
    main()
