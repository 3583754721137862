"""The command line's exit-code contract, and a fuzz of it.

0: success. 2: anything wrong with what was typed or asked for, as one line on stderr.
1: an unexpected failure (a bug), also one line. Never a traceback, never an exception out
of ``main``. Everything runs in-process through ``autograd.cli.main``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import pathlib
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import unavailable

from autograd import cli
from autograd.expr import FUNCTIONS
from autograd.value import Value

# A later change adds one optional warning line (exit 0) for a non-finite result.
_WARNING = re.compile(r"chainrule [\w-]+: warning: ")
LARGE = "+".join(["x"] * 1000)          # 1,999 nodes: over the pictures' limit of 500


def run(*args: str) -> tuple[int, str, str]:
    """``chainrule ARGS`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(args))
    return status, out.getvalue(), err.getvalue()


def assert_contract(status: int, out: str, err: str) -> None:
    """Exit 0 with no error line, or exit 2 with exactly one line and no output."""
    errors = [line for line in err.splitlines() if not _WARNING.match(line)]
    assert status in (0, 2), err
    if status == 0:
        assert errors == [], err
    else:
        assert len(errors) == 1 and err.endswith("\n") and out == "", (out, err)
        assert errors[0].startswith("chainrule"), err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder holding a folder named like an output file and a plain file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.svg").mkdir()
    (tmp_path / "folder.html").mkdir()
    (tmp_path / "file.txt").write_text("")
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["grad", "log(x)", "x=0"], "log(0.0) is undefined"),
    (["explain", "x / (x - 1)", "x=1"], "division by zero"),
    (["grad", "x ^ 2", "x=1"], "the operator ^ at column 3 is not allowed"),
    (["grad", "tanh(x) + y", "x=1"], "no value for y"),
    (["grad", "x", "x=1e999"], "the value must be a finite number"),
    (["render", "x", "x=1", "-o", "graph.jpg"], "unknown extension '.jpg'"),
    (["step", "x", "x=1", "-o", "page.txt"], "save to a .html file, not 'page.txt'"),
    (["render", LARGE, "x=1"], "the graph has 1999 nodes to draw, more than max_nodes=500"),
    (["step", LARGE, "x=1"], "the graph has 1999 nodes to draw, more than max_nodes=500"),
    (["render", "x", "x=1", "-o", "missing/graph.dot"],
     "cannot write 'missing/graph.dot': No such file or directory"),
    (["step", "x", "x=1", "-o", "missing/page.html"],
     "cannot write 'missing/page.html': No such file or directory"),
    (["render", "x", "x=1", "-o", "folder.svg"], "cannot write 'folder.svg': Is a directory"),
    (["step", "x", "x=1", "-o", "folder.html"], "cannot write 'folder.html': Is a directory"),
    (["render", "x", "x=1", "-o", "file.txt/graph.dot"], "Not a directory"),
    (["step", "x", "x=1", "-o", "file.txt/page.html"], "Not a directory"),
    (["grad", "x", "x=1", "-o", "graph.svg"], "unrecognized arguments: -o graph.svg"),
    (["grad"], "the following arguments are required: EXPR"),
    ([], "the following arguments are required: COMMAND"),
])
def test_what_was_typed_or_asked_for_exits_2_in_one_line(args, message, workdir):
    status, out, err = run(*args)
    assert_contract(status, out, err)
    assert status == 2 and message in err
    assert sorted(p.name for p in workdir.iterdir()) == ["file.txt", "folder.html", "folder.svg"]


@pytest.mark.parametrize("args, message", [
    (["render", "x", "x=1", "-o", "graph.pdf", "--engine", "wasm"],
     "writing PDF needs the Graphviz program 'dot'"),
    (["render", "x", "x=1", "-o", "graph.png", "--engine", "dot"],
     "the Graphviz program 'dot' is not on PATH"),
])
def test_a_missing_graphviz_exits_2(args, message, workdir, monkeypatch):
    monkeypatch.setenv("PATH", str(workdir))        # no dot program to be found
    status, out, err = run(*args)
    assert_contract(status, out, err)
    assert status == 2 and message in err and "install Graphviz" in err


@pytest.mark.parametrize("command, output", [("render", "graph.svg"), ("step", "page.html")])
def test_no_permission_to_write_exits_2(command, output, workdir, monkeypatch):
    import autograd.html_page

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", output)

    # Simulated: the tests may run as root, who may write anywhere.
    monkeypatch.setattr(pathlib.Path, "write_bytes", refuse)
    monkeypatch.setattr(autograd.html_page, "open", refuse, raising=False)
    status, out, err = run(command, "x * y", "x=1", "y=2", "-o", output)
    assert_contract(status, out, err)
    assert status == 2 and f"cannot write {output!r}: Permission denied" in err


@pytest.mark.parametrize("expression", ["sqrt(x)", "x ** 0.5", "3 * sqrt(x * x)"])
@pytest.mark.parametrize("command", ["grad", "explain", "render", "step"])
def test_a_singular_point_of_the_backward_pass_is_no_internal_error(command, expression,
                                                                    workdir):
    # The forward pass works at x = 0; the derivative is infinite (a number, exit 0, once the
    # engine gives PyTorch's inf) or refused as the input's problem (exit 2): never exit 1.
    output = ["-o", "page.html" if command == "step" else "graph.dot"]
    status, out, err = run(command, expression, "x=0", *(output if command in ("render", "step")
                                                         else []))
    assert_contract(status, out, err)


def test_a_sum_of_10000_terms_is_differentiated_and_explained():
    flat = " + ".join(["x"] * 10_000)
    assert run("grad", flat, "x=2") == (0, "value = 20000.0\nd/dx = 10000.0\n", "")
    status, out, err = run("explain", flat, "x=2")
    assert (status, err) == (0, "")
    assert len(re.findall(r"/dx \+= ", out)) == 10_000     # one step per x, 19,998 in all
    assert out.rstrip().endswith("= 1.0 · 1.0 = 1.0")


@pytest.mark.parametrize("command", ["render", "step"])
def test_graphviz_failing_exits_1_in_one_line(command, workdir, monkeypatch):
    import autograd.viz.render

    def timeout(*args, **kwargs):
        raise RuntimeError("Graphviz 'dot' took more than 60 s; draw a smaller graph")

    monkeypatch.setattr(autograd.viz.render, "render", timeout)
    output = "page.html" if command == "step" else "graph.svg"
    status, out, err = run(command, "x * y", "x=1", "y=2", "-o", output)
    assert (status, out) == (1, "")
    assert err == f"chainrule {command}: error: Graphviz 'dot' took more than 60 s; draw a " \
                  "smaller graph\n"


def test_an_unexpected_error_exits_1_in_one_line(monkeypatch):
    def broken(self, *args, **kwargs):
        raise TypeError("first line\nsecond line")

    monkeypatch.setattr(Value, "backward", broken)
    status, out, err = run("grad", "x", "x=1")
    assert (status, out) == (1, "")
    assert err.count("\n") == 1 and "TypeError: first line\\nsecond line" in err
    assert "CHAINRULE_DEBUG=1" in err


@pytest.mark.parametrize("args", [["--help"], *[[c, "--help"] for c in
                                                 ("grad", "render", "explain", "step")]])
def test_help_states_the_exit_statuses(args):
    status, out, err = run(*args)
    assert (status, err) == (0, "")
    assert "exit status:\n  0  success\n  2  a problem with what was typed" in out
    assert "\n  1  an unexpected failure" in out


def test_the_module_docstring_states_the_exit_statuses():
    assert "0  success." in cli.__doc__ and "2  a problem with what was typed" in cli.__doc__


# ------------------------------------------------------------------ standard output
# In a real process: Python's own buffering decides when a write fails.

_ROOT = pathlib.Path(__file__).resolve().parent.parent
_PRINTING = [["grad", "x * y", "x=2", "y=3"], ["explain", "tanh(x) * x", "x=1"],
             ["render", "x * y", "x=2", "y=3", "-o", "graph.dot"], ["--help"], ["--version"],
             ["explain", "--help"], ["explain", LARGE[:1999], "x=1"]]


def _process(args: list[str], stdout, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    return subprocess.run([sys.executable, "-m", "autograd", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=cwd, env=env, timeout=60)


@pytest.mark.parametrize("args", _PRINTING, ids=lambda a: " ".join(a)[:20])
def test_a_closed_pipe_is_normal_use_and_exits_quietly(args, tmp_path):
    reading, writing = os.pipe()
    os.close(reading)             # `chainrule ... | head` after head has gone
    try:
        done = _process(args, writing, tmp_path)
    finally:
        os.close(writing)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("args", _PRINTING, ids=lambda a: " ".join(a)[:20])
def test_a_full_standard_output_is_one_error_line_and_exit_2(args, tmp_path):
    if not os.path.exists("/dev/full"):
        unavailable("/dev/full (a Linux device: a file that is always full)")
    with open("/dev/full", "w") as full:
        done = _process(args, full, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("chainrule")
    assert done.stderr.endswith("error: cannot write to the standard output: No space left on "
                                "device\n")


# ------------------------------------------------------------------ fuzz
# Hypothesis costs about a millisecond per example and per draw here, more than a run of main,
# so each example is a batch of 100 command lines (100 examples make 10,000), and each command
# line is read from one drawn byte string (cheap to draw, easy to shrink) by _command_line.

NAMES = ("x", "y", "z")
_ATOMS = (*NAMES, "0", "1", "2.5", ".5", "1e308", "1e-320", "709.8", "3")
_OPERATORS = ("+", "-", "*", "/", "**")
_FUNCTIONS = sorted(FUNCTIONS)
_TOKENS = (*NAMES, "w", *_FUNCTIONS, "foo", "tan", "__import__", "lambda", "if", "True", "(",
           ")", ",", *_OPERATORS, "^", "%", "//", "@", "<", "==", "=", ":=", ".", "[", "]", "{",
           "'", '"', *_ATOMS[3:], "1e999", "9" * 400, "2x", "1j", "1.2.3", "−", "×", "ℌ", "é",
           "x²", "\x00", "\n", "\r", "\t", "#", "\\", "😀", "\u2028", "\udcff")
_VALUES = ("1e308", "-1e308", "5e-324", "-0", "0", "1e999", "nan", "inf", "-inf", "", "abc",
           "0x10", "1_0", " 2 ", "١٢", "2=3", "1e-320")
_ASSIGNMENTS = ("x=1", "y=-2", "z=0", "x=2", "w=1", "x=", "=1", "x", "x==1", "x=nan",
                "x=1e999", "x=inf", "tanh=1", "lambda=1", "ℌ=1", "1x=2", "x=0.5", "y=1e308",
                "z=-0", "-x=1", "--")
_EXTRAS = (["w=1"], ["x=3"], ["--bogus"], ["-o", "graph.svg"], ["--"], ["-h"], ["--version"],
           ["--rankdir", "TB"], ["x=1", "x"])
_NESTS = (lambda k: "(" * k + "x" + ")" * k, lambda k: "-" * k + "x",
          lambda k: "tanh(" * k + "x" + ")" * k, lambda k: "x**" * k + "x",
          lambda k: "x+(" * k + "x" + ")" * k, lambda k: "(" * k + "x",
          lambda k: "+".join(["x"] * min(k, 300)))
_SIZES = (1, 2, 50, 99, 100, 101, 300, 10_000)


def _rpn(codes: bytes) -> str:
    """A valid expression: each byte pushes an atom or applies an operator, parentheses, a
    minus sign or a function to the top of a stack, as in reverse Polish notation."""
    stack: list[str] = []
    for code in codes:
        what, pick = code % 8, code // 8
        if what < 3 or not stack:
            stack.append(_ATOMS[pick % len(_ATOMS)])
        elif what < 5 and len(stack) > 1:
            right = stack.pop()
            stack.append(f"{stack.pop()} {_OPERATORS[pick % len(_OPERATORS)]} {right}")
        elif what == 5:
            stack.append(f"({stack.pop()})")
        elif what == 6:
            stack.append(f"-{stack.pop()}")
        else:
            name = _FUNCTIONS[pick % len(_FUNCTIONS)]
            slope = ", 0.1" if name == "leaky_relu" and pick % 2 else ""
            stack.append(f"{name}({stack.pop()}{slope})")
    return " + ".join(stack) or "x"


def _hostile(kind: int, codes: bytes) -> str:
    """Token soup (spaced or glued), any text, or deep nesting."""
    if kind < 2:
        separator = " " if kind == 0 else ""
        return separator.join(_TOKENS[code % len(_TOKENS)] for code in codes)
    if kind == 2:       # UTF-16 reaches every character, lone surrogates included
        return codes[:len(codes) // 2 * 2].decode("utf-16-le", "surrogatepass")
    nest, size = (codes + bytes(2))[:2]
    return _NESTS[nest % len(_NESTS)](_SIZES[size % len(_SIZES)])


def _command_line(code: bytes, commands: tuple[str, ...]) -> list[str]:
    """code[0] picks the command and the kind of expression, code[1] whether to add a hostile
    assignment or extra arguments, code[2:5] the values of x, y, z; the rest is the expression."""
    command = commands[code[0] % len(commands)]
    kind = code[0] // len(commands) % 8
    expression = _rpn(code[5:]) if kind < 4 else _hostile(kind - 4, code[5:])
    names = [n for n in NAMES if re.search(rf"\b{n}\b", expression)]
    # mostly an ordinary number from -7 to 7.9 (0 included), sometimes a hostile one
    assignments = [f"{name}={(c - 112) / 16!r}" if c < 240 else
                   f"{name}={_VALUES[c % len(_VALUES)]}" for name, c in zip(names, code[2:5])]
    # Arguments are checked before the expression, so a bad one only now and then.
    if code[1] >= 192:
        assignments.append(_ASSIGNMENTS[code[1] % len(_ASSIGNMENTS)])
    elif code[1] >= 160:
        assignments.extend(_EXTRAS[code[1] % len(_EXTRAS)])
    return [command, expression, *assignments]


def _command_lines(*commands: str):
    return st.binary(min_size=5, max_size=29).map(lambda code: _command_line(code, commands))


@settings(max_examples=100, deadline=None)
@given(st.lists(_command_lines("grad", "explain"), min_size=100, max_size=100))
def test_fuzz_10000_command_lines_exit_0_or_2_in_one_line(batch):
    for argv in batch:
        assert_contract(*run(*argv))


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    (folder / "folder.svg").mkdir()
    (folder / "folder.html").mkdir()
    (folder / "file.txt").write_text("")
    return folder


# Graphviz lays out a leaf shared by many labelled edges in time that grows steeply (a sum of
# 30 x's nested to the right takes dot 9 s, of 50 over 2 minutes); speed is not checked here.
@settings(max_examples=150, deadline=None)
@given(_command_lines("render", "step").filter(lambda argv: argv[1].count("x") <= 16),
       st.sampled_from(["g.svg", "g.dot", "g.txt", "g.png", "g", "g.html", "g.HTM", "g.html.txt",
                        "missing/g.dot", "missing/g.html", "folder.svg", "folder.html",
                        "file.txt/g.dot", "file.txt/g.html"]))
def test_fuzz_render_and_step_exit_0_or_2_in_one_line(outdir, argv, output):
    assert_contract(*run(*argv, "-o", str(outdir / output)))
