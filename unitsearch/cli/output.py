"""One way to print a command's rows: a table on a terminal, or the same rows as CSV, Markdown or JSON."""

from __future__ import annotations

import typer

from ..render import Format, render


def emit(rows: list[dict], fmt: Format, title: str) -> None:
    """Print ``rows`` to stdout in ``fmt``, with ``title`` above a table."""
    text = render(rows, fmt, title=title)
    if text is not None:
        typer.echo(text.rstrip("\n"))
