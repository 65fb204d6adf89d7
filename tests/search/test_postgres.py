"""The throw-away PostgreSQL server itself, and a worker process pointed at it with a wrong password."""

from __future__ import annotations

import psycopg
import pytest
from optuna.trial import TrialState

from unitsearch.search import create_study, join_study, load_space

pytestmark = pytest.mark.postgres

SPACE = 'profile = "smoke"\nseeds = [0, 1]\n\n[factors]\nunit = ["original", "full_preact"]\n'


def test_the_server_listens_on_loopback_only_and_asks_for_a_password(postgres_server, postgres_url):
    with psycopg.connect(postgres_url, connect_timeout=10) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SHOW password_encryption").fetchone()[0] == "scram-sha-256"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.url("postgres", password="wrong"), connect_timeout=10)


def test_a_study_created_here_is_joined_from_another_connection(postgres_url, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(SPACE)
    _, added = create_study(postgres_url, "two", load_space(str(path)))
    assert added == 4
    joined, space = join_study(postgres_url, "two")  # what a worker on another machine does
    assert space.n_trials == 4 and len(joined.get_trials(states=(TrialState.WAITING,))) == 4


@pytest.mark.slow
def test_a_worker_process_with_a_wrong_password_prints_one_line_without_it(postgres_server, search_cli):
    # Through the environment, as a job script would pass it; --storage is covered in test_storage.py.
    url = postgres_server.url("postgres", password="s3cretpw")
    result = search_cli.run("worker", "--study", "two", env={"UNITSEARCH_STORAGE": url}, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot open storage 'postgresql://{postgres_server.user}:***@127.0.0.1:"), output
    assert "password authentication failed" in output and "s3cretpw" not in output and "Traceback" not in output
