"""The CLI commands set torch's thread count for the whole process; each test gets it back.

The report command's tests read the studies the report's tests build (``tests/report/conftest.py``).
"""

from __future__ import annotations

import pytest
import torch

from ..report.conftest import ablation, ablation_db, make_trial, write_study  # noqa: F401  (fixtures and helpers shared with the report tests)


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def one_line_error(res) -> str:
    """The one ``error:`` line of a CLI run that failed with exit status 2, and no traceback."""
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    return lines[0]
