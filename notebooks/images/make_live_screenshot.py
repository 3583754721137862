"""Regenerate live.png, the guide's picture of fit(live=True) in Jupyter (guide/nn.md).

    python notebooks/images/make_live_screenshot.py

Runs the guide's "Watch it learn" training in a real Jupyter kernel (through nbclient, as
the tests do) and writes the picture that the live view shows at the end: the one output
that ``fit(..., live=True)`` kept updating.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# the guide's example, with live_every so that the run is the same on every machine
CELL = """
import nn
from nn import MLP, SGD, data

X, y = data.make_moons(100, noise=0.1, seed=0, labels="pm1")
model = MLP(2, [16, 16, 1], seed=1)
history = nn.fit(model, X, y, loss="hinge", l2=1e-4, optimizer=SGD(model.parameters(), lr=0.5),
                 epochs=40, compile=True, live=True, live_every=4)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(HERE / "live.png"))
    options = parser.parse_args()

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    # the kernel starts in the repository, so it imports this checkout's nn
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(ROOT)}}).execute()
    pictures = [o for o in notebook.cells[0].outputs if o.output_type == "display_data"]
    if len(pictures) != 1:
        raise SystemExit(f"expected the live view's one output, got {notebook.cells[0].outputs}")
    Path(options.output).write_bytes(base64.b64decode(pictures[0].data["image/png"]))
    print(f"wrote {options.output}")


if __name__ == "__main__":
    main()
