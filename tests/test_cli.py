"""The chainrule command line and its safe expression parser."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd.display import format_number
from autograd.expr import FUNCTIONS, ExpressionError, evaluate, parse, parse_assignment

ROOT = Path(__file__).parent.parent


def chainrule(*args, engine=None, cwd=None):
    """Run ``python -m autograd`` (engine: force a Graphviz back end; None: automatic)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CHAINRULE_GRAPHVIZ", None)
    if engine is not None:
        env["CHAINRULE_GRAPHVIZ"] = engine
    return subprocess.run([sys.executable, "-m", "autograd", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd or ROOT, env=env)


# ------------------------------------------------------------------ commands

def test_grad_prints_the_value_and_every_partial():
    done = chainrule("grad", "x * y + tanh(x)", "x=2", "y=-3")
    assert done.returncode == 0, done.stderr
    t = math.tanh(2.0)
    assert done.stdout.splitlines() == [  # the digits explain() and the pictures show
        f"value = {format_number(-6.0 + t)}", f"d/dx = {format_number(-3.0 + (1 - t * t))}",
        "d/dy = 2.0"]
    assert done.stdout.splitlines()[:2] == ["value = -5.036", "d/dx = -2.929"]
    assert done.stderr == ""


def test_a_result_that_is_not_finite_succeeds_with_one_warning_naming_the_op():
    done = chainrule("grad", "sqrt(x) * y", "x=0", "y=2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["value = 0.0", "d/dx = inf", "d/dy = 0.0"]
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("chainrule grad: warning: the backward pass made inf at the "
                              "'sqrt' node (input data 0.0 (x))")


def test_an_expression_may_start_with_a_minus_sign():
    done = chainrule("grad", "-x*y", "x=2", "y=5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["value = -10.0", "d/dx = -5.0", "d/dy = -2.0"]


def test_render_writes_an_svg(tmp_path):
    out = tmp_path / "graph.svg"
    done = chainrule("render", "x * y + 1", "x=2", "y=-3", "-o", str(out), "--rankdir", "TB",
                     engine="wasm")      # works without the system Graphviz
    assert done.returncode == 0, done.stderr
    texts = ["".join(t.itertext()) for t in ET.parse(out).getroot().iter(
        "{http://www.w3.org/2000/svg}text")]
    assert "x" in texts and "grad -3.0" in texts and "∂mul1/∂x = y = -3.0" in texts


def test_render_without_grads_or_local_derivatives_to_dot(tmp_path):
    out = tmp_path / "graph.dot"
    done = chainrule("render", "x * y", "x=2", "y=-3", "-o", str(out), "--no-grad",
                     "--no-local")
    assert done.returncode == 0, done.stderr
    source = out.read_text(encoding="utf-8")
    assert "data -6.0" in source and "grad" not in source and "∂" not in source


def test_render_png_with_dot(tmp_path):
    from conftest import require_program

    require_program("dot")
    out = tmp_path / "graph.png"
    done = chainrule("render", "sin(x)", "x=1", "-o", str(out), engine="dot")
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_render_png_without_dot_is_drawn_in_process(tmp_path):
    done = chainrule("render", "x", "x=1", "-o", str(tmp_path / "g.png"), engine="wasm")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_pdf_without_dot_fails_in_one_line(tmp_path):
    done = chainrule("render", "x", "x=1", "-o", str(tmp_path / "g.pdf"), engine="wasm")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "apt-get install graphviz" in done.stderr and ".svg" in done.stderr


def test_explain_prints_the_chain_rule_steps():
    done = chainrule("explain", "x * y", "x=2", "y=-3")
    assert done.returncode == 0, done.stderr
    assert "x" in done.stdout and "y" in done.stdout and "-3.0" in done.stdout


def test_step_writes_an_html_page(tmp_path):
    out = tmp_path / "backprop.html"
    done = chainrule("step", "x * y", "x=2", "y=-3", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize("command", ["grad", "render", "explain", "step"])
def test_help_of_each_command_has_an_example(command):
    done = chainrule(command, "--help")
    assert done.returncode == 0
    assert f"example:\n  chainrule {command} " in done.stdout


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("args, message", [
    (["grad", "x * (y", "x=1", "y=2"], "syntax error"),
    (["grad", "foo(x)", "x=1"], "unknown function 'foo'"),
    (["grad", "x + z", "x=1"], "no value for z"),
    (["grad", "x", "x=1", "x=2"], "x is given twice"),
    (["grad", "x", "x=1", "y=2"], "y given but not used"),
    (["grad", "x", "x=abc"], "x='abc': the value is not a number"),
    (["grad", "x", "x"], "is not an assignment"),
    (["grad", "log(x)", "x=0"], "log(0.0) is undefined"),
    (["grad", "x / y", "x=1", "y=0"], "division by zero"),
    (["grad", "x.__class__", "x=1"], "attribute access"),
    (["grad", "__import__('os').system('echo hacked')"], "unknown function '__import__'"),
    (["grad", "__import__('os')"], "unknown function '__import__'"),
    (["grad", "(lambda: 1)()"], "'lambda' at column 2 is a Python keyword"),
    (["grad", "lambda: 1"], "lambda"),
    (["grad", "x[0]", "x=1"], "a subscript (a[i]) at column 2 is not allowed"),
    (["grad", "x" + "+x" * 50_000, "x=1"], "characters long"),
    (["grad", "tanh(" * 150 + "x" + ")" * 150, "x=1"], "nested more than 100 levels"),
    (["grad", "(" * 10_000 + "x" + ")" * 10_000, "x=1"], "nested more than 100 levels"),
    (["grad", "-" * 10_000 + "x", "x=1"], "nested more than 100 levels"),
    (["render", "x", "x=1", "-o", "g.jpg"], "unknown extension '.jpg'"),
    (["grad"], "the following arguments are required: EXPR"),
    (["frobnicate", "x"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_on_stderr_and_status_2(args, message, tmp_path):
    done = chainrule(*args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert message in lines[0]
    assert "hacked" not in done.stdout + done.stderr


# ------------------------------------------------------------------ the parser

@pytest.mark.parametrize("text, values, expected", [
    ("2 * 3", {}, 6.0),
    ("x ** 2 + -x", {"x": 3.0}, 6.0),
    ("+x / 4", {"x": 2.0}, 0.5),
    ("2 ** x", {"x": 3.0}, 8.0),
    ("leaky_relu(x, -0.5) + abs(x)", {"x": -2.0}, 3.0),
    ("sigmoid(0) + softplus(0) + relu(-1) + exp(0) + sqrt(4) + cos(0) + sin(0)", {},
     0.5 + math.log(2) + 0 + 1 + 2 + 1 + 0),
    ("  tanh(x)", {"x": 0.0}, 0.0),
])
def test_expressions_evaluate_like_python(text, values, expected):
    out, leaves = evaluate(text, values)
    assert math.isclose(out.data, expected, rel_tol=1e-12)
    assert list(leaves) == list(values)
    assert all(leaf.label == name for name, leaf in leaves.items())


def test_variables_are_labelled_leaves_with_gradients():
    out, leaves = evaluate("x * y + x", {"y": 4.0, "x": 2.0})
    out.backward()
    assert list(leaves) == ["x", "y"]
    assert (leaves["x"].grad, leaves["y"].grad) == (5.0, 2.0)


@pytest.mark.parametrize("text", ["tanh + 1", "1 if x else 2", "x < 1", "[x]", "x % 2",
                                  "x // 2", "x @ x", "'a'", "True", "1j", "f(x)(y)",
                                  "tanh(x, y)", "leaky_relu(x, y)", "tanh(x=1)", "tanh(*x)",
                                  "~x", "not x", "1e999", "x.real", "", "   ", "\x00"])
def test_parser_refuses_anything_off_the_whitelist(text):
    with pytest.raises(ExpressionError):
        evaluate(text, {"x": 1.0, "y": 2.0})


@pytest.mark.parametrize("text", ["x", "x=", "=1", "1x=2", "tanh=1", "x=nan", "x=inf", "x=1e999"])
def test_bad_assignments(text):
    with pytest.raises(ExpressionError):
        parse_assignment(text)


def test_parse_assignment_reads_numbers():
    assert parse_assignment("x=-3") == ("x", -3.0)
    assert parse_assignment(" w_1 = 2.5e-1 ") == ("w_1", 0.25)


@given(st.text(max_size=80))
def test_fuzz_random_text_evaluates_or_raises_expression_error(text):
    try:
        parse(text)
    except ExpressionError:
        return
    from autograd.expr import variables

    names = variables(parse(text))
    try:
        evaluate(text, {n: 0.5 for n in names})
    except ExpressionError:
        pass


_leaf = st.one_of(
    st.sampled_from(["x", "y", "z"]).map(lambda n: ast.Name(id=n, ctx=ast.Load())),
    st.floats(-1e6, 1e6).map(lambda v: ast.Constant(value=v)),
    st.integers(-5, 5).map(lambda v: ast.Constant(value=v)),
)


def _extend(children):
    binops = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod])
    return st.one_of(
        st.builds(lambda l, o, r: ast.BinOp(left=l, op=o(), right=r), children, binops, children),
        st.builds(lambda o, v: ast.UnaryOp(op=o(), operand=v),
                  st.sampled_from([ast.USub, ast.UAdd, ast.Not]), children),
        st.builds(lambda f, a: ast.Call(func=ast.Name(id=f, ctx=ast.Load()), args=a, keywords=[]),
                  st.sampled_from(sorted(FUNCTIONS) + ["eval", "open"]),
                  st.lists(children, min_size=1, max_size=2)),
        st.builds(lambda v: ast.Attribute(value=v, attr="real", ctx=ast.Load()), children),
    )


@given(st.recursive(_leaf, _extend, max_leaves=12), st.floats(-3, 3), st.floats(-3, 3))
def test_fuzz_random_trees_evaluate_or_raise_expression_error(tree, x, y):
    text = ast.unparse(ast.fix_missing_locations(ast.Expression(body=tree)))
    try:
        out, _ = evaluate(text, {n: v for n, v in (("x", x), ("y", y), ("z", 1.0))
                                 if n in text})
    except ExpressionError:
        return
    assert isinstance(out.data, float)


# ------------------------------------------------------------------ the grammar is Python's

def _python_tree(text: str) -> str:
    """ast.parse's tree of ``text``, numbers as floats (the parser reads every number so)."""
    tree = ast.parse(text, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = float(node.value)
    return ast.dump(tree)


_atom = st.sampled_from(["x", "y", "w_1", "α", "2", "0.5", ".5", "5.", "1e3", "2E-2", "1_000"])


def _grow(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), st.sampled_from(["", " "]),
                  inner).map(lambda p: f"{p[0]}{p[2]}{p[1]}{p[2]}{p[3]}"),
        inner.map(lambda e: f"({e})"),
        st.tuples(st.sampled_from(["-", "+", "- "]), inner).map("".join),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), inner).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(inner, st.sampled_from(["0.1", "-2", "+ 3"])).map(
            lambda p: f"leaky_relu({p[0]}, {p[1]})"),
    )


@given(st.recursive(_atom, _grow, max_leaves=12))
def test_the_parser_reads_every_expression_as_python_does(text):
    # Precedence, associativity and signs: -x**2 is -(x**2), x**-y*z is (x**(-y))*z, ...
    assert ast.dump(parse(text)) == _python_tree(text)


@pytest.mark.parametrize("op, fold", [
    ("+", lambda a, b: a + b), ("-", lambda a, b: a - b), ("*", lambda a, b: a * b),
    ("/", lambda a, b: a / b)])
def test_a_long_chain_is_one_level_of_nesting(op, fold):
    # ast nests x + x + ... + x 10,000 deep to the left; the text nests nothing.
    terms = [f"x{i % 7}" for i in range(10_000)]
    values = {f"x{i}": 1.0 + i / 1000 for i in range(7)}
    out, leaves = evaluate(f" {op} ".join(terms), values)
    expected = values[terms[0]]
    for name in terms[1:]:
        expected = fold(expected, values[name])
    assert out.data == expected         # same operations in the same order as Python
    out.backward()
    if op == "+":
        assert [leaves[f"x{i}"].grad for i in range(7)] == [
            float(sum(1 for t in terms if t == f"x{i}")) for i in range(7)]


@pytest.mark.parametrize("nest", [
    lambda k: "x+(" * k + "x" + ")" * k,        # right-nested sum: needs its parentheses
    lambda k: "tanh(" * k + "x" + ")" * k,
    lambda k: "-" * k + "x",
    lambda k: "- " * k + "x",
    lambda k: "x**" * k + "x",                  # ** groups to the right
    lambda k: "-(" * k + "x" + ")" * k,
    lambda k: "(" * (k + 1) + "x" + ")" * (k + 1),
    lambda k: "x*(" * (k - 1) + "x - x - x" + ")" * (k - 1),
])
def test_real_nesting_is_limited_to_100_levels(nest):
    parse(nest(99))
    with pytest.raises(ExpressionError, match="nested more than 100 levels deep"):
        parse(nest(100))
    with pytest.raises(ExpressionError, match="nested more than 100 levels deep"):
        parse(nest(10_000) + " $")      # the first problem is named, not the $ at the end


@pytest.mark.parametrize("text, message", [
    ("y + x^2", "the operator ^ at column 6 is not allowed in an expression; use ** for powers"),
    ("x // 2", "the operator // at column 3 is not allowed in an expression; use / for division"),
    *[(f"x {op} y", f"the operator {op} at column 3 is not allowed in an expression; use + - * /")
      for op in ["%", "@", "<<", ">>", "&", "|"]],
    ("y*~x", "the operator ~ at column 3 is not allowed"),
    *[(f"x {op} y", f"the comparison {op} at column 3 is not allowed in an expression")
      for op in ["<", ">", "<=", ">=", "==", "!="]],
    ("x = 2", "an assignment (=) at column 3 is not allowed in an expression; give each "
              "variable its value after the expression, as x=2"),
    ("(y := 2)", "an assignment (:=) at column 4 is not allowed"),
    ("tanh(x).real", "attribute access (a.b) at column 8 is not allowed"),
    ("x[0]", "a subscript (a[i]) at column 2 is not allowed"),
    ("{x}", "a brace at column 1 is not allowed"),
    ("x + 'a'", "a string at column 5 is not allowed"),
    ("x if y else 1", "'if' at column 3 is a Python keyword, not allowed"),
    ("1 + True", "'True' at column 5 is a Python keyword"),
    ("x − y", "unexpected character '−' at column 3; did you mean '-'?"),
    ("x × y", "unexpected character '×' at column 3; did you mean '*'?"),
    ("x ; y", "unexpected character ';' at column 3"),
    ("2x + 1", "'2x' at column 1 is not a number (write 2*x for a product)"),
    ("1 + 2j", "'2j' at column 5 is not a number (complex numbers are not supported)"),
    ("1.2.3", "'1.2.3' at column 1 is not a number"),
    ("x * 1e999", "the number 1e999 at column 5 is too large for a float"),
    ("x²", "'x²' at column 1 is not a name"),
    ("tan(x)", "unknown function 'tan' at column 1 (did you mean tanh?)"),
    ("x + tanh", "tanh at column 5 is a function: call it, as in tanh(x)"),
    ("x * tanh()", "tanh() at column 5 takes 1 argument, got 0"),
    ("leaky_relu(x, 1, 2)", "leaky_relu() at column 1 takes 1 or 2 arguments, got 3"),
    ("leaky_relu(x, y)", "the last argument of leaky_relu() at column 1 is a constant and must be a number"),
    ("x * (y + 1", "syntax error at column 5: '(' is never closed"),
    ("x * sin(y", "syntax error at column 5: 'sin(' is never closed"),
    ("x + 1)", "syntax error at column 6: ')' has no matching '('"),
    ("x, y", "syntax error at column 2: a comma only separates the arguments of a function"),
    ("x y", "syntax error at column 3: an operator such as + - * / ** is missing before 'y'"),
    ("x * / y", "syntax error at column 5: expected a number, a variable or '(', found '/'"),
    ("x +", "syntax error at column 4: expected a number, a variable or '(', the expression ends"),
    ("tanh(x,)", "syntax error at column 8: expected a number, a variable or '(', found ')'"),
    ("  x ^ 2", "the operator ^ at column 3"),      # columns count from the first non-blank
])
def test_a_bad_expression_is_named_at_its_column(text, message):
    with pytest.raises(ExpressionError) as error:
        evaluate(text, {"x": 1.0, "y": 2.0})
    assert str(error.value).startswith(message), str(error.value)


def test_a_misspelt_variable_suggests_the_given_one():
    with pytest.raises(ExpressionError, match=r"no value for yy: add yy=\.\.\. \(did you mean y\?"):
        evaluate("x + yy", {"x": 1.0, "y": 2.0})


def test_a_name_is_taken_as_typed():
    # Python would read ℌ as H (NFKC); the assignment ℌ=1 names ℌ, so the expression must too.
    out, leaves = evaluate("ℌ * H", {"ℌ": 2.0, "H": 3.0})
    assert out.data == 6.0 and [leaf.label for leaf in leaves.values()] == ["ℌ", "H"]


def test_a_keyword_is_not_a_variable_name():
    with pytest.raises(ExpressionError, match="'lambda' is a Python keyword"):
        parse_assignment("lambda=1")
