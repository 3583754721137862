"""``python -m autograd``: the chainrule command line (see autograd.cli)."""

from autograd.cli import main

raise SystemExit(main())
