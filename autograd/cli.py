"""The ``chainrule`` command (also ``python -m autograd``): gradients and pictures of an expression.

    chainrule grad "x * y + tanh(x)" x=2 y=-3
    chainrule render "x * y + tanh(x)" x=2 y=-3 -o graph.svg
    chainrule explain "x * y" x=2 y=-3
    chainrule step "x * y" x=2 y=-3 -o backprop.html
    chainrule playground -o site

Bad input prints one line on stderr and exits with status 2; a missing tool exits with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Optional, Sequence

__all__ = ["main"]

EXIT_USAGE = 2      # the input was wrong
EXIT_FAILURE = 1    # the input was fine but something else failed (a missing program, disk)

_EXPR_HELP = ("the expression: numbers, variables, + - * / **, parentheses and the functions "
              "tanh relu exp log sqrt sin cos sigmoid abs softplus leaky_relu")
_VARS_HELP = "a value for each variable, as name=number (e.g. x=2 y=-3)"
_TIP = "Quote the expression so that the shell leaves * and ( ) alone."


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from autograd import __version__

    parser = _Parser(
        prog="chainrule", description="Differentiate an expression, draw its graph, or "
        "explain its backward pass step by step.",
        epilog='example: chainrule grad "x * y + tanh(x)" x=2 y=-3', allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, summary: str, example: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=summary, allow_abbrev=False,
            epilog=f"example:\n  {example}\n\n{_TIP}",
            formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("expression", metavar="EXPR", help=_EXPR_HELP)
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
    return parser


class _Failure(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _build(args: argparse.Namespace):
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
        raise _Failure(str(error), EXIT_USAGE) from None


def _run(args: argparse.Namespace) -> None:
    if args.command == "playground":
        from autograd.playground import PlaygroundError, build, how_to_open

        try:
            page = build(args.output, args.pyodide)
        except (PlaygroundError, OSError) as error:
            raise _Failure(str(error), EXIT_FAILURE) from None
        print(how_to_open(page))
        return
    root, leaves = _build(args)
    if args.command == "grad":
        root.backward()
        print(f"value = {root.data!r}")
        for name, leaf in leaves.items():
            print(f"d/d{name} = {leaf.grad!r}")
    elif args.command == "render":
        from autograd.viz import GraphvizNotFoundError, draw_graph

        root.backward()
        try:
            image = draw_graph(root, rankdir=args.rankdir, show_grad=not args.no_grad,
                               show_local=not args.no_local, engine=args.engine)
            path = image.save(args.output)
        except ValueError as error:                 # too many nodes, an unknown extension
            raise _Failure(str(error), EXIT_USAGE) from None
        except (GraphvizNotFoundError, RuntimeError, OSError) as error:
            raise _Failure(str(error), EXIT_FAILURE) from None
        print(f"wrote {path}")
    elif args.command == "explain":
        explain = _optional("explain")
        print(str(explain(root)))
    elif args.command == "step":
        stepper = _optional("stepper")
        try:
            path = stepper(root).save(args.output)
        except OSError as error:
            raise _Failure(str(error), EXIT_FAILURE) from None
        print(f"wrote {path if path is not None else args.output}")


def _optional(name: str):
    import autograd

    try:
        return getattr(autograd, name)
    except (ImportError, AttributeError):
        raise _Failure(f"{name} is not available in this installation of chainrule",
                       EXIT_FAILURE) from None


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
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 other failure)."""
    parser = _parser()
    args = parser.parse_args(_protect_expression(parser, sys.argv[1:] if argv is None else argv))
    try:
        _run(args)
    except _Failure as failure:
        print(f"chainrule {args.command}: error: {failure}", file=sys.stderr)
        return failure.status
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - a command line shows one line, not a traceback
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"chainrule {args.command}: error: {type(error).__name__}: {error} "
              "(set CHAINRULE_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_FAILURE
    return 0
