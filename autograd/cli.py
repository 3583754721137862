"""The ``chainrule`` command (also ``python -m autograd``): gradients and pictures of an expression.

    chainrule grad "x * y + tanh(x)" x=2 y=-3
    chainrule render "x * y + tanh(x)" x=2 y=-3 -o graph.svg
    chainrule explain "x * y" x=2 y=-3
    chainrule step "x * y" x=2 y=-3 -o backprop.html
    chainrule playground -o site
    chainrule course -o site --offline

Exit status, the same for every command:

    0  success.
    2  a problem with what was typed or asked for: the expression (syntax, an unknown name,
       math such as log(0)), the variables, the output file or folder (its extension, a
       missing folder, no permission, a directory, a full disk, a folder holding another
       site), a graph too big to draw, or a Graphviz program (or the playground's Pyodide
       runtime) missing for what was asked for.
    1  an unexpected failure: a bug in chainrule, or Graphviz itself failing.

Standard output that is a pipe closed by its reader (``chainrule explain ... | head``) ends
the output quietly, with the command's own status; a full one is an error (status 2).

An error is always one line on stderr, ``chainrule COMMAND: error: ...``, never a traceback
(``CHAINRULE_DEBUG=1`` shows the traceback of an unexpected failure). A result that is not
finite (``grad "sqrt(x)" x=0`` gives d/dx = inf, as PyTorch does) succeeds, with one line
``chainrule COMMAND: warning: ...`` on stderr naming the op where it first appeared.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from typing import NoReturn, Optional, Sequence

__all__ = ["main"]

EXIT_USAGE = 2      # what was typed or asked for cannot be done
EXIT_FAILURE = 1    # the input was fine but something failed: a bug, Graphviz crashing

_VARS_HELP = "a value for each variable, as name=number (e.g. x=2 y=-3)"
_TIP = "Quote the expression so that the shell leaves * and ( ) alone."
_EXIT_STATUS = """\
exit status:
  0  success
  2  a problem with what was typed or asked for: the expression (syntax, an unknown
     name, math such as log(0)), the variables, the output file or folder (extension,
     missing folder, permission, a directory, a full disk, a folder holding another
     site), a graph too big to draw, or a Graphviz program (or the playground's Pyodide
     runtime) missing for what was asked for
  1  an unexpected failure: a bug in chainrule, or Graphviz itself failing
An error is one line on stderr, never a traceback. A result that is not finite
(sqrt'(0) = inf) succeeds with one warning line naming the op where it appeared."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_one_line(message)} "
                              f"(see {self.prog} --help)\n")

    def _print_message(self, message: str, file=None) -> None:
        # argparse ignores a failed write; main reports it (a full disk) or not (a closed pipe).
        if message:
            (file or sys.stderr).write(message)


def _one_line(message: str) -> str:
    """``message`` with line breaks and other unprintable characters escaped, as repr does."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


@functools.lru_cache(maxsize=None)
def _parser() -> argparse.ArgumentParser:
    # Built once: building it costs more than parsing and differentiating a small expression.
    from autograd import __version__
    from autograd.expr import FUNCTIONS

    expression_help = ("the expression: numbers, variables, + - * / **, parentheses and the "
                       f"functions {' '.join(FUNCTIONS)}")

    parser = _Parser(
        prog="chainrule", description="Differentiate an expression, draw its graph, or "
        "explain its backward pass step by step.",
        epilog=f'example:\n  chainrule grad "x * y + tanh(x)" x=2 y=-3\n\n{_EXIT_STATUS}',
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, summary: str, example: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=summary, allow_abbrev=False,
            epilog=f"example:\n  {example}\n\n{_TIP}\n\n{_EXIT_STATUS}",
            formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("expression", metavar="EXPR", help=expression_help)
        sub.add_argument("assignments", metavar="NAME=VALUE", nargs="*", help=_VARS_HELP)
        return sub

    command("grad", "Print the value of EXPR and its partial derivative by each variable.",
            'chainrule grad "x * y + tanh(x)" x=2 y=-3')

    render = command("render", "Draw the computational graph of EXPR, after the backward pass.",
                     'chainrule render "x * y + tanh(x)" x=2 y=-3 -o graph.svg')
    render.add_argument("-o", "--output", default="graph.svg",
                        help="file to write; .svg, .png, .pdf or .dot (default graph.svg)")
    render.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                        help="direction of the graph (default LR: left to right)")
    render.add_argument("--no-grad", action="store_true", help="leave out the gradients")
    render.add_argument("--no-local", action="store_true",
                        help="leave out the local derivatives on the edges")
    render.add_argument("--engine", choices=("dot", "wasm"), default=None,
                        help="Graphviz back end (default: the dot program if installed, else "
                        "the built-in WebAssembly one, which writes SVG and PNG but not PDF)")

    command("explain", "Print the backward pass of EXPR as chain-rule steps.",
            'chainrule explain "x * y + tanh(x)" x=2 y=-3')

    step = command("step", "Write an HTML page that steps through the backward pass of EXPR.",
                   'chainrule step "x * y + tanh(x)" x=2 y=-3 -o backprop.html')
    step.add_argument("-o", "--output", default="backprop.html",
                      help="HTML file to write (default backprop.html)")

    summary = "Write a web page that runs chainrule in the browser, with nothing installed."
    playground = commands.add_parser("playground", help=summary, description=summary,
                                     allow_abbrev=False, epilog="example:\n  chainrule "
                                     "playground -o site && python -m http.server -d site",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    playground.add_argument("-o", "--output", default="playground",
                            help="folder to write the site to (default playground)")
    playground.add_argument("--pyodide", metavar="DIR", default=None,
                            help="the npm pyodide package (default: node_modules/pyodide)")
    playground.add_argument("--force", action="store_true",
                            help="replace an index.html (and the site's other files) that the "
                            "playground did not write")

    summary = ("Write the course as a website: every notebook executed, with its pictures, "
               "runnable in the browser (JupyterLite), the API reference and the playground.")
    course = commands.add_parser("course", help=summary, description=summary,
                                 allow_abbrev=False, epilog="example:\n  chainrule course -o "
                                 "site --offline && python -m http.server -d site",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    course.add_argument("-o", "--output", default="site",
                        help="folder to write the site to (default site; an earlier course "
                        "site there is replaced)")
    course.add_argument("--offline", action="store_true",
                        help="bundle everything the browser needs, so that no page loads "
                        "anything from outside the site (lessons that need numpy or "
                        "matplotlib then run in the browser only online)")
    course.add_argument("--notebooks", metavar="DIR", default=None,
                        help="the folder of the lessons (default: notebooks/)")
    course.add_argument("--node-modules", metavar="DIR", default=None,
                        help="the folder with the npm packages pyodide and katex "
                        "(default: node_modules/, installed by npm ci)")
    return parser


class _Failure(Exception):
    """A failure to report in one line; by default the input's fault (exit status 2)."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


class _ReaderGone(Exception):
    """Standard output is a pipe whose reader has stopped reading (``| head``)."""


def _say(text: str) -> None:
    """Print a line of the result now, so that a closed pipe or a full disk shows here."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        raise _ReaderGone from None
    except OSError as error:
        _stdout_to_null()
        raise _Failure(_stdout_failure(error)) from None


def _stdout_failure(error: OSError) -> str:
    return f"cannot write to the standard output: {error.strerror or error}"


def _finish_stdout(command: str, status: int) -> int:
    """Flush what is left on standard output (argparse's --help, say) and return the status.

    A reader that stopped reading is normal use (``chainrule explain ... | head``): quiet, and
    the status stands. A full disk is an error line (status 2). Either way standard output
    then points at the null device, so that Python's own flush at exit has nothing to fail.
    """
    try:
        sys.stdout.flush()
    except OSError as error:
        return _stdout_broke(command, error, status)
    return status


def _stdout_broke(command: str, error: OSError, status: int) -> int:
    _stdout_to_null()
    if isinstance(error, BrokenPipeError):
        return status
    print(f"{command}: error: {_stdout_failure(error)}", file=sys.stderr)
    return status or EXIT_USAGE


def _stdout_to_null() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a file (captured in tests): nothing to do
        pass


def _expression_graph(args: argparse.Namespace):
    from autograd.expr import ExpressionError, evaluate, parse_assignment

    try:
        values: dict[str, float] = {}
        for text in args.assignments:
            name, value = parse_assignment(text)
            if name in values:
                raise ExpressionError(f"{name} is given twice; give each variable once")
            values[name] = value
        return evaluate(args.expression, values)
    except ExpressionError as error:
        raise _Failure(str(error)) from None


def _run(args: argparse.Namespace) -> None:
    if args.command == "playground":
        from autograd.playground import PlaygroundError, build, how_to_open

        try:
            page = build(args.output, args.pyodide, force=args.force)
        except PlaygroundError as error:
            raise _Failure(str(error)) from None
        except OSError as error:                # no permission, a full disk
            raise _Failure(f"cannot write {args.output!r}: {error.strerror or error}") from None
        _say(how_to_open(page))
        return
    if args.command == "course":
        from autograd import course

        try:
            page = course.build(args.output, offline=args.offline, notebooks=args.notebooks,
                                node_modules=args.node_modules)
        except course.CourseSetupError as error:
            raise _Failure(str(error)) from None
        except course.CourseError as error:
            raise _Failure(str(error), EXIT_FAILURE) from None
        except OSError as error:                # no permission, a full disk
            raise _Failure(f"cannot write {args.output!r}: {error.strerror or error}") from None
        _say(course.how_to_open(page))
        return
    root, leaves = _expression_graph(args)
    try:
        if args.command == "grad":
            from autograd.display import format_number

            root.backward()
            _say(f"value = {format_number(root.data)}")
            for name, leaf in leaves.items():
                _say(f"d/d{name} = {format_number(leaf.grad)}")
        elif args.command == "explain":
            from autograd.trace import explain

            _say(str(explain(root)))
        else:
            _say(f"wrote {_picture(root, args)}")
    # The forward pass succeeded, so these come from the picture asked for (a graph over the
    # node limit, an unknown extension): the input's problem.
    except (ArithmeticError, ValueError) as error:
        raise _Failure(_with_notes(error)) from None
    if not all(math.isfinite(v) for v in (root.data, *(x.grad for x in leaves.values()))):
        _warn_where_not_finite(args)


def _warn_where_not_finite(args: argparse.Namespace) -> None:
    """One warning line naming the op where a nan or inf first appeared (the result stands:
    sqrt'(0) = inf is the right answer, as in PyTorch)."""
    from autograd.modes import AnomalyError, detect_anomaly

    try:
        with detect_anomaly():
            root, _ = _expression_graph(args)
            root.backward()
    except AnomalyError as error:
        print(f"chainrule {args.command}: warning: {_one_line(str(error))}", file=sys.stderr)


def _with_notes(error: BaseException) -> str:
    """The message of an error and the notes that say where it happened."""
    return "; ".join([str(error), *getattr(error, "__notes__", ())])


def _picture(root, args: argparse.Namespace):
    """Draw the graph (render) or the stepper page (step) and save it to ``args.output``."""
    from autograd.viz import GraphvizNotFoundError, draw_graph

    try:
        if args.command == "render":
            root.backward()
            picture = draw_graph(root, rankdir=args.rankdir, show_grad=not args.no_grad,
                                 show_local=not args.no_local, engine=args.engine)
        else:
            from autograd.viz.stepper import stepper

            picture = stepper(root)     # runs the backward pass; refuses a graph too big
        return picture.save(args.output)
    except GraphvizNotFoundError as error:  # e.g. PDF without the dot program
        raise _Failure(str(error)) from None
    except RuntimeError as error:           # Graphviz failed, or took too long
        raise _Failure(str(error), EXIT_FAILURE) from None
    except OSError as error:                # no such folder, no permission, a directory
        raise _Failure(f"cannot write {args.output!r}: {error.strerror or error}") from None


def _protect_expression(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Let an expression start with a minus sign: ``chainrule grad -x*y x=1 y=2``.

    argparse would take ``-x*y`` for an option; a leading space makes it a plain argument
    (the expression parser ignores the space).
    """
    argv = list(argv)
    options = {opt for action in _subcommand_actions(parser) for opt in action.option_strings}
    for i, token in enumerate(argv[:-1]):
        if token in ("grad", "render", "explain", "step"):
            following = argv[i + 1]
            if (following.startswith("-") and following != "--"
                    and following.split("=", 1)[0] not in options):
                argv[i + 1] = " " + following
            break
    return argv


def _subcommand_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    actions = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                actions.extend(sub._actions)
    return actions


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 unexpected failure)."""
    import autograd
    from autograd.identity import clash

    if clash(autograd):         # a broken install: nothing here can work
        print(f"chainrule: error: {clash(autograd)}", file=sys.stderr)
        return EXIT_FAILURE
    parser = _parser()
    try:
        args = parser.parse_args(_protect_expression(parser,
                                                     sys.argv[1:] if argv is None else argv))
    except SystemExit as done:              # --help, --version, or a usage error (status 2)
        return _finish_stdout("chainrule", int(done.code or 0))
    except OSError as error:                # --help or --version could not be written
        return _stdout_broke("chainrule", error, 0)
    return _finish_stdout(f"chainrule {args.command}", _command(args))


def _command(args: argparse.Namespace) -> int:
    try:
        _run(args)
    except _ReaderGone:                     # `chainrule explain ... | head`: normal use
        _stdout_to_null()
    except _Failure as failure:
        print(f"chainrule {args.command}: error: {_one_line(str(failure))}", file=sys.stderr)
        return failure.status
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - a command line shows one line, not a traceback
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"chainrule {args.command}: error: {type(error).__name__}: "
              f"{_one_line(str(error))} "
              "(unexpected: please report it; CHAINRULE_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_FAILURE
    return 0
