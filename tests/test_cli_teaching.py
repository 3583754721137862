"""`chainrule explain` and `chainrule step`: the teaching tools from the command line."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from autograd import cli, explain
from conftest import page_data
from examples import lecture



def run(*args: str) -> tuple[int, str, str]:
    """Run ``chainrule ARGS`` in-process: (exit status, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(list(args))
        except SystemExit as exit_:
            status = exit_.code
    return (status or 0), out.getvalue(), err.getvalue()


def numbers(formula: str) -> str:
    """The numeric half of a formula (``2.0 · 3.0 = 6.0``), which does not depend on names."""
    return formula.split(" = ", 1)[1]


# expression, variables, a line the trace must contain (names of unlabelled nodes vary)
EXPLAIN_CASES = [
    ("(3*x + 2)**2", ["x=1"], r"d(\S+)/dx \+= d\1/d\S+ · d\S+/dx = 10\.0 · 3\.0 = 30\.0"),
    ("(x**2 + 1)**3", ["x=2"], r"d(\S+)/dx \+= d\1/d\S+ · d\S+/dx = 75\.0 · 4\.0 = 300\.0"),
    ("(a*b + c) * f", ["a=2", "b=-3", "c=10", "f=-2"],
     r"d(\S+)/da \+= d\1/d\S+ · d\S+/da = \(-2\.0\) · \(-3\.0\) = 6\.0"),
]


@pytest.mark.parametrize("expr, variables, line", EXPLAIN_CASES)
def test_explain_prints_the_chain_rule_steps(expr, variables, line):
    status, out, err = run("explain", expr, *variables)
    assert status == 0, err
    assert re.search(line, out), out


def test_explain_prints_the_same_steps_as_the_library():
    status, out, _ = run("explain", "(a*b + c) * f", "a=2", "b=-3", "c=10", "f=-2")
    assert status == 0
    formulas = [numbers(step.formula) for step in explain(lecture())]
    shown = [numbers(m) for m in re.findall(r"d\S+/d\S+ \+= .*", out)]
    assert shown == formulas


def test_step_writes_a_stepper_page(tmp_path):
    target = tmp_path / "backprop.html"
    status, out, err = run("step", "(a*b + c) * f", "a=2", "b=-3", "c=10", "f=-2",
                           "-o", str(target))
    assert status == 0, err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and 'id="next"' in page
    data = page_data(page)
    assert [numbers(s["formula"]) for s in data["backward"]] == [
        numbers(step.formula) for step in explain(lecture())]


@pytest.mark.parametrize("args", [
    ("explain", "__import__('os').system('echo hi')", "x=1"),
    ("explain", "x +", "x=1"),
    ("explain", "x * y", "x=1"),            # y has no value
    ("step", "log(x)", "x=-1", "-o", "never.html"),  # log of a negative number
])
def test_bad_input_is_one_line_and_status_2(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(*args)
    assert status == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "never.html").exists()


def test_python_dash_m_autograd_step_end_to_end(tmp_path):
    target = tmp_path / "page.html"
    result = subprocess.run(
        [sys.executable, "-m", "autograd", "step", "tanh(w*x + b)", "w=0.5", "x=2", "b=-1",
         "-o", str(target)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "<svg" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("expression, title", [
    ("x", "0 chain-rule steps"), ("tanh(x)", "1 chain-rule step,"),
    ("x * x", "2 chain-rule steps"), ("tanh(x) * x", "3 chain-rule steps")])
def test_explain_counts_its_steps_in_english(expression, title):
    status, out, _ = run("explain", expression, "x=1")
    assert status == 0 and title in out.splitlines()[0], out
