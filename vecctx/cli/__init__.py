"""The ``vecctx`` command line: its commands (:mod:`vecctx.cli.commands`), settings
(:mod:`vecctx.cli.settings`), the session they share (:mod:`vecctx.cli.session`), the demo and
the terminal rendering."""

from vecctx.cli.commands import app, main

__all__ = ["app", "main"]
