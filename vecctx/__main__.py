"""``python -m vecctx``: the CLI."""

import sys

from vecctx.cli import main

sys.exit(main())
