"""One helper renders every table: a Rich table, Markdown, CSV or JSON from the same rows."""

from __future__ import annotations

import csv
import enum
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import unicodedata

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

__all__ = ["Format", "render", "to_text", "to_json", "output_console", "safe_text", "fit_columns"]


def safe_text(value: Any) -> str:
    """``value`` as one printable line: control characters (an escape sequence, a newline) are
    shown escaped (``\\x1b``), so a name cannot move the cursor, recolour the terminal or
    split a row. Rich markup in it stays text wherever it is printed through :class:`Text`."""
    text = str(value)
    if all(c.isprintable() for c in text):
        return text
    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs" else c.encode("unicode_escape").decode("ascii") for c in text)


def _table_width(widths: Sequence[int]) -> int:
    return sum(w + 2 for w in widths) + len(widths) + 1  # padding of 1 each side, one border between and around


def fit_columns(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], width: int, *, drop_order: Sequence[str] = ()
) -> list[str]:
    """The columns that fit in ``width`` without wrapping any cell: those in ``drop_order`` are
    left out, first to last, until the table fits (or none is left to drop)."""
    cols = list(columns)
    need = {c: max([cell_len(safe_text(c)), *(cell_len(safe_text(_cell(r.get(c)))) for r in rows)]) for c in cols}
    for c in drop_order:
        if _table_width([need[k] for k in cols]) <= width:
            break
        if c in cols:
            cols.remove(c)
    return cols


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
    drop_order: Sequence[str] = (),
    whole: Sequence[str] = (),
) -> str | None:
    """Print the rows as a Rich table, or return them as text in another format.

    Every cell is plain text: markup and control characters in names are shown, not obeyed.
    For the table, ``drop_order`` names the columns to leave out, in turn, until the table fits
    the console, and the ``whole`` columns are never wrapped or cut. The other formats keep
    every column.
    """
    if fmt is not Format.TABLE:
        return to_text(rows, fmt, title=title, columns=columns)
    console = console or Console()
    every = list(columns or (rows[0].keys() if rows else []))
    cols = fit_columns(rows, every, console.width, drop_order=drop_order)
    need = [max([cell_len(safe_text(c)), *(cell_len(safe_text(_cell(r.get(c)))) for r in rows)]) for c in cols]
    if _table_width(need) > console.width and any(c in whole for c in cols):
        # Each row's name gets a line of its own, so the other columns get about one more line.
        names = sum(n + 3 for c, n in zip(cols, need) if c in whole)
        _stacked(rows, fit_columns(rows, every, console.width + names, drop_order=drop_order), title=title, whole=whole, console=console)
        return None
    table = Table(title=Text(safe_text(title)) if title else None)
    for c in cols:
        numeric = bool(rows) and isinstance(rows[0].get(c), (int, float)) and not isinstance(rows[0].get(c), bool)
        longest = max([0, *(cell_len(safe_text(_cell(r.get(c)))) for r in rows)])
        keep = c in whole
        table.add_column(
            Text(safe_text(c)), justify="right" if numeric else "left", no_wrap=keep, min_width=longest if keep else None
        )
    for r in rows:
        table.add_row(*(Text(safe_text(_cell(r.get(c)))) for c in cols))
    console.print(table)
    return None


def _stacked(rows: Sequence[Mapping[str, Any]], cols: list[str], *, title: str, whole: Sequence[str], console: Console) -> None:
    """Rows too wide for a table even with its optional columns left out: one line per row
    holds the leading columns and the ``whole`` ones (names, never wrapped), an indented line
    below it the others as ``column value`` pairs, which may wrap."""
    first = next(i for i, c in enumerate(cols) if c in whole)
    head = [c for i, c in enumerate(cols) if i <= first or c in whole]
    if title:
        console.print(Text(safe_text(title), style="bold"))
    for r in rows:
        lead = "  ".join(safe_text(_cell(r.get(c))) or " " * cell_len(safe_text(c)) for c in head)
        shown = head
        if cell_len(lead) > console.width:  # the name alone, its rank among the details
            shown = [c for c in head if c in whole]
            lead = "  ".join(safe_text(_cell(r.get(c))) for c in shown)
        console.print(Text(lead), no_wrap=True, overflow="ignore", crop=False)
        rest = [f"{safe_text(c)} {safe_text(_cell(r.get(c)))}" for c in cols if c not in shown and _cell(r.get(c))]
        if rest:
            console.print(Padding(Text(" · ".join(rest)), (0, 0, 0, 4)))
