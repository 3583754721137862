"""Rendering back ends: system dot and in-process WebAssembly; SVG, PNG, PDF; errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import require_program
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, draw_graph
from autograd.viz import GraphvizNotFoundError
from autograd.viz.render import choose_engine, render

SVG = "{http://www.w3.org/2000/svg}"
NASTY = 'q"{a|b}<c>&amp; \\n <script>alert(1)</script> & end'


def small_graph(label="x"):
    x = Value(2.0, label=label)
    y = (x * Value(-3.0, label="w")).tanh()
    y.label = "y"
    y.backward()
    return x, y


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)          # the SVG must be well-formed XML
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.fixture(params=["wasm", "dot"])
def engine(request):
    """Each test runs on the in-process WebAssembly Graphviz and on the system dot."""
    if request.param == "dot":
        require_program("dot")
    return request.param


def test_both_back_ends_draw_valid_svg_with_the_labels(engine):
    _, y = small_graph()
    svg = draw_graph(y, engine=engine).svg()
    shown = texts(svg)
    assert "y" in shown and "data 2.0" in shown and "tanh" in shown
    assert any(t.startswith("∂a/∂x = w = -3.0") for t in shown)
    root = ET.fromstring(svg)
    ids = {g.get("id") for g in root.iter(f"{SVG}g")}
    assert {"n0", "n2", "n2op", "n3", "n3op", "e3", "e2_0"} <= ids


def test_hostile_labels_show_as_text_and_inject_nothing(engine):
    x, y = small_graph(label=NASTY)
    svg = draw_graph(y, engine=engine).svg()
    shown = texts(svg)
    assert NASTY in shown                                   # the record field, verbatim
    assert any(t.startswith(f"∂a/∂{NASTY}") for t in shown)  # the edge label
    root = ET.fromstring(svg)
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))


def test_newlines_and_control_characters_keep_the_svg_valid(engine):
    x, y = small_graph(label="two\nlines\x01")
    shown = texts(draw_graph(y, engine=engine).svg())
    assert "two" in shown and "lines\\x01" in shown


def test_folded_graph_renders(engine):
    from test_viz import MLP, hinge_loss

    svg = draw_graph(hinge_loss(MLP(2, [3, 3, 1])), collapse="neuron", engine=engine).svg()
    shown = texts(svg)
    assert "neuron L2.N3" in shown and "layer L1" in shown


def test_png_and_pdf_through_dot(tmp_path):
    require_program("dot")
    _, y = small_graph()
    image = draw_graph(y, engine="dot")
    assert image.save(tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.save(tmp_path / "g.PDF").read_bytes()[:5] == b"%PDF-"


def test_png_without_dot_is_rasterised_in_process_with_its_text(tmp_path):
    from PIL import Image

    _, y = small_graph()
    path = draw_graph(y, engine="wasm").save(tmp_path / "g.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(path).convert("L")
    assert image.width > 300 and image.height > 100
    # Text drawn: many dark pixels besides the boxes' outlines (an empty render is all white).
    dark = sum(image.histogram()[:100])
    assert dark > 1000


@pytest.mark.parametrize("name, hint", [("g.pdf", ""), ("g.png", "pip install resvg-py")])
def test_pdf_or_png_without_any_rasteriser_names_the_program_and_the_way_out(
        tmp_path, monkeypatch, name, hint):
    import sys

    monkeypatch.setitem(sys.modules, "resvg_py", None)  # as if the wheel were not installed
    _, y = small_graph()
    image = draw_graph(y, engine="wasm")
    with pytest.raises(GraphvizNotFoundError) as info:
        image.save(tmp_path / name)
    message = str(info.value)
    for needed in ("'dot'", "apt-get install graphviz", "brew install graphviz",
                   "conda install graphviz", ".svg", hint):
        assert needed in message
    assert not (tmp_path / name).exists()


def test_forced_dot_that_is_missing_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz.*engine='wasm'"):
        render("digraph { a -> b }", "svg", engine="dot")


def test_svg_falls_back_to_wasm_when_dot_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CHAINRULE_GRAPHVIZ", raising=False)
    assert choose_engine() == "wasm"
    _, y = small_graph()
    assert "data 2.0" in texts(draw_graph(y).svg())


def test_environment_variable_chooses_the_back_end(monkeypatch):
    monkeypatch.setenv("CHAINRULE_GRAPHVIZ", "wasm")
    assert choose_engine() == "wasm"
    assert choose_engine("dot") == "dot"      # an argument wins
    monkeypatch.setenv("CHAINRULE_GRAPHVIZ", "cairo")
    with pytest.raises(ValueError, match="CHAINRULE_GRAPHVIZ='cairo'"):
        choose_engine()


def test_save_dot_and_svg_and_refuse_unknown_extensions(tmp_path):
    _, y = small_graph()
    image = draw_graph(y, engine="wasm")
    assert (image.save(tmp_path / "g.dot")).read_text(encoding="utf-8") == image.source
    assert texts((image.save(str(tmp_path / "g.svg"))).read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match=r"unknown extension '\.jpg'; use one of .svg, .png"):
        image.save(tmp_path / "g.jpg")
    with pytest.raises(ValueError, match="unknown extension '\\(none\\)'"):
        image.save(tmp_path / "g")
    assert not (tmp_path / "g.jpg").exists()


def test_jupyter_shows_the_svg_inline():
    _, y = small_graph()
    image = draw_graph(y, engine="wasm")
    assert image._repr_svg_() == image.svg()
    assert not hasattr(image, "_repr_html_")
    assert "GraphImage" in repr(image)


def test_dot_errors_and_timeouts_are_reported(monkeypatch):
    require_program("dot")
    with pytest.raises(RuntimeError, match="Graphviz 'dot' failed"):
        render("digraph { a -> }", "svg", engine="dot")
    with pytest.raises(RuntimeError, match="took more than"):
        big = "digraph {" + " ".join(f"n{i} -> n{(i * 7919) % 3000};" for i in range(3000)) + "}"
        render(big, "svg", engine="dot", timeout=0.01)


# Any text a user may give as a label: DOT syntax, entities, backslashes, newlines, Latin-1 and
# the usual maths letters. (Some other scripts, e.g. U+01C1, crash the WebAssembly Graphviz
# itself, inside its layout; the system dot draws them.)
LABEL_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0xFF)
                     | st.sampled_from('\n\t\x01"{}|<>&\\;#∂αβθλσ∑→·'),
                     min_size=1, max_size=12)


def lines_shown(texts: list[str]) -> list[str]:
    # Graphviz drops empty lines and trims or collapses spaces: compare what is left.
    return [" ".join(t.split()) for t in texts if t.strip()]


def as_drawn(label: str) -> list[str]:
    """The lines a label is drawn as: tab as a space, other control characters as \\xNN."""
    visible = "".join(" " if c == "\t" else f"\\x{ord(c):02x}" if ord(c) < 32 and c != "\n"
                      or ord(c) == 127 else c for c in label)
    return lines_shown(visible.split("\n"))


@settings(max_examples=40)
@given(label=LABEL_TEXT)
def test_any_label_is_drawn_literally(label):
    x = Value(1.0, label=label)
    y = x * 2.0
    y.label = "y"
    root = ET.fromstring(draw_graph(y, engine="wasm").svg())
    record = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "n0")
    shown = ["".join(t.itertext()) for t in record.iter(f"{SVG}text")]
    assert lines_shown(shown[:-2]) == as_drawn(label)
    assert shown[-2:] == ["data 1.0", "grad 0.0"]


def test_a_picture_after_one_that_broke_the_webassembly_instance_still_draws():
    # Found by the test above: after this graph a reused wasm Graphviz instance traps.
    x = Value(1.0, label='\n;Ó;"\x88\n')
    y = x * 2.0
    first = draw_graph(y, engine="wasm").svg()
    assert draw_graph(y, engine="wasm").svg() == first


def test_a_crash_inside_the_webassembly_graphviz_is_reported_with_the_way_out():
    x = Value(1.0, label="\nǁɶ&0>&0&0")      # traps Graphviz-wasm on a fresh instance
    with pytest.raises(RuntimeError, match="WebAssembly Graphviz crashed.*apt-get install"):
        draw_graph(x * 2.0, engine="wasm", legend=False).svg()
    assert "data 6.0" in texts(draw_graph(Value(3.0) * 2, engine="wasm").svg())  # and then on


def test_a_module_class_named_like_dot_syntax_draws_with_every_back_end(engine):
    from test_viz import evil_mlp, hinge_loss

    loss = hinge_loss(evil_mlp())
    shown = texts(draw_graph(loss, collapse="neuron", engine=engine).svg())
    assert "{evil} {1" in shown and "neuron {1.N1" in shown and "neuron {2.N1" in shown


def test_pipe_render_and_view_work_as_on_a_graphviz_digraph(tmp_path, monkeypatch, engine):
    import graphviz

    _, y = small_graph()
    image = draw_graph(y, engine=engine)
    assert image.pipe() == image.svg().encode("utf-8")
    assert image.pipe(format="svg", encoding="utf-8") == image.svg()
    assert image.pipe(format="png")[:8] == b"\x89PNG\r\n\x1a\n"
    # render(filename): the DOT text in filename, the picture in filename.svg
    path = image.render(tmp_path / "g")
    assert path == str(tmp_path / "g.svg") and texts(Path(path).read_text(encoding="utf-8"))
    assert (tmp_path / "g").read_text(encoding="utf-8") == image.source
    # outfile: the extension gives the format; cleanup leaves no DOT file
    path = image.render(outfile=tmp_path / "out.png", cleanup=True)
    assert Path(path).read_bytes()[:4] == b"\x89PNG" and not (tmp_path / "out.gv").exists()
    opened = []
    monkeypatch.setattr(graphviz, "view", lambda path, quiet=False: opened.append(Path(path)))
    path = image.view(directory=tmp_path)
    assert opened == [tmp_path / "graph.gv.svg"] and path == str(opened[0])
    with pytest.raises(ValueError, match="cannot render format 'jpg'"):
        image.render(tmp_path / "h", format="jpg")
    assert not (tmp_path / "h").exists()


def test_wasmtime_that_cannot_run_here_is_reported_with_the_way_out(monkeypatch):
    import importlib.abc
    import importlib.util
    import sys

    import autograd.viz.webassembly as webassembly

    class ImportFails(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        # What `import wasmtime` does on a 32-bit Python, where its wheel installs too.
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name == "wasmtime" else None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise RuntimeError("wasmtime only works on 64-bit platforms right now")

    monkeypatch.delitem(sys.modules, "wasmtime", raising=False)
    monkeypatch.setattr(sys, "meta_path", [ImportFails(), *sys.meta_path])
    monkeypatch.setattr(webassembly, "_render", None)
    with pytest.raises(GraphvizNotFoundError, match="64-bit.*apt-get install graphviz"):
        render("digraph { a -> b }", "svg", engine="wasm")


def test_a_dot_syntax_error_in_webassembly_is_reported_as_graphvizs_own_message():
    with pytest.raises(RuntimeError, match="^the WebAssembly Graphviz could not draw the graph: "
                                           "Failed to parse DOT source$"):
        render("digraph { a -> }", "svg", engine="wasm")


@pytest.mark.parametrize("family, meant", [("Helvetica,sans-Serif", "sans-serif"),
                                           ("Times,SERIF", "serif"),
                                           ("Courier,Monospace", "monospace")])
def test_png_without_dot_uses_the_font_family_graphviz_asked_for(family, meant):
    # Graphviz writes font-family="Helvetica,sans-Serif"; resvg reads the generic family in
    # lower case only, and drew dot's sans-serif text in a serif font.
    from autograd.viz.render import _rasterise, _resvg

    resvg_py = _resvg()
    svg = ('<svg width="150pt" height="30pt" viewBox="0 0 150 30" '
           'xmlns="http://www.w3.org/2000/svg"><text x="5" y="20" font-family="{}" '
           'font-size="14">grad 1.0 Ag</text></svg>')
    wanted = _rasterise(resvg_py, svg.format(meant).encode())
    assert _rasterise(resvg_py, svg.format(family).encode()) == wanted
    # The family's own name stays (a system with Helvetica uses it, as dot does).
    seen = []
    fake = type("resvg", (), {"svg_to_bytes": staticmethod(
        lambda svg_string, background: seen.append(svg_string) or b"")})
    _rasterise(fake, svg.format(family).encode())
    assert f'font-family="{family.split(",")[0]},{meant}"' in seen[0]
