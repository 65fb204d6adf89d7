"""Every export format parses back into the report's numbers."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from unitsearch.render import to_json
from unitsearch.report import format_report, report_to_dict

VERDICT_KEYS = {
    "best", "full_preact_rank", "n_designs", "diff", "ci", "p", "n_seeds", "fail_units_ranks",
    "fail_units_below_baseline", "paper_tau", "paper_tau_p", "full_preact_tied_with_best", "baseline", "text",
}


def _no_nan(name):
    raise ValueError(f"non-standard JSON constant {name}")


def test_json_is_one_strict_object(report):
    data = json.loads(format_report(report, "json"), parse_constant=_no_nan)
    assert {"study", "metric", "baseline", "leaderboard", "verdict", "factors", "importance", "cost"} <= set(data)
    assert data["study"] == "abl" and data["metric"] == "val" and data["baseline"] == "original"
    assert VERDICT_KEYS <= set(data["verdict"])
    assert len(data["leaderboard"]) == len(report.rows)
    top = data["leaderboard"][0]
    assert top["rank"] == 1 and top["design"] == report.rows[0].design and top["mark"] == "="
    assert top["mean"] == pytest.approx(report.rows[0].summary.mean)
    assert len(top["per_seed"]) == report.rows[0].summary.n
    assert set(data["factors"]) == {"h", "f", "branch", "preact", "tail"}
    assert data == json.loads(to_json(report_to_dict(report)))


def test_csv_rows_are_the_leaderboard(report):
    rows = list(csv.DictReader(io.StringIO(format_report(report, "csv"))))
    assert len(rows) == len(report.rows)
    assert [r["design"] for r in rows] == [r.design for r in report.rows]
    for got, row in zip(rows, report.rows):
        if row.rank is not None:
            assert int(got["rank"]) == row.rank and float(got["mean"]) == pytest.approx(row.summary.mean)
        if row.baseline_p_holm is not None:
            assert float(got["baseline_p_holm"]) == pytest.approx(row.baseline_p_holm)
    assert "per_seed" not in rows[0]


def _md_table(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"**{title}"))
    table = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_markdown_tables_have_one_row_per_item(report):
    md = format_report(report, "markdown")
    board = _md_table(md, "Leaderboard")
    assert len(board) - 2 == len(report.rows)  # header and separator
    assert board[1].count("---") == board[0].count("|") - 1
    for factor in ("h", "f", "branch", "preact", "tail"):
        assert len(_md_table(md, f"Mean error by {factor}")) - 2 == len(report.factors[factor])
    assert report.verdict.text in md


def test_table_text_has_the_verdict(report):
    text = format_report(report, "table")
    assert "Verdict." in text and "full_preact" in text and "\x1b[" not in text


def test_to_json_writes_nan_as_null():
    assert json.loads(to_json({"a": math.nan, "b": [math.inf, 1.5]})) == {"a": None, "b": [None, 1.5]}
