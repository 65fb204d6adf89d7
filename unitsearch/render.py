"""One helper renders every table: a Rich table, Markdown, CSV or JSON from the same rows."""

from __future__ import annotations

import csv
import enum
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["Format", "render", "to_text", "to_json", "output_console"]


def output_console(width: int = 200) -> Console:
    """Stdout's console: the terminal's own width, or ``width`` columns when piped into a file
    (Rich's default of 80 squeezes a wide table into unreadable stubs)."""
    console = Console()
    return console if console.is_terminal else Console(width=width)


class Format(str, enum.Enum):
    """An output format for rows."""

    TABLE = "table"  # a Rich table for the terminal
    MARKDOWN = "markdown"  # a GitHub-flavoured Markdown table
    CSV = "csv"  # comma-separated values with a header row
    JSON = "json"  # a list of objects


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    return value


def to_json(value: Any) -> str:
    """Any nested mapping/list of rows as strict JSON text (for outputs that are more than one table)."""
    return json.dumps(_jsonable(value), indent=2, default=str, allow_nan=False) + "\n"


def to_text(rows: Sequence[Mapping[str, Any]], fmt: Format, *, title: str = "", columns: Sequence[str] | None = None) -> str:
    """The rows as text in ``fmt`` (not for :attr:`Format.TABLE`, which needs a console)."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt is Format.JSON:
        return json.dumps([{c: r.get(c) for c in cols} for r in rows], indent=2, default=str)
    if fmt is Format.CSV:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    lines = [f"**{title}**", ""] if title else []
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(c)).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines) + "\n"


def render(
    rows: Sequence[Mapping[str, Any]],
    fmt: Format = Format.TABLE,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
    console: Console | None = None,
) -> str | None:
    """Print the rows as a Rich table, or return them as text in another format."""
    if fmt is not Format.TABLE:
        return to_text(rows, fmt, title=title, columns=columns)
    cols = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title or None)
    for c in cols:
        numeric = bool(rows) and isinstance(rows[0].get(c), (int, float)) and not isinstance(rows[0].get(c), bool)
        table.add_column(c, justify="right" if numeric else "left")
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in cols))
    (console or Console()).print(table)
    return None
