"""Storage URLs: secrets hidden everywhere, in-memory SQLite refused, missing drivers named."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from unitsearch.errors import UserError
from unitsearch.storage import open_storage
from unitsearch.storage.urls import redact, scrub


def open_for_reading(url):
    return open_storage(url, read_only=True)


SECRET = "hunter2"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{SECRET}@db.example/studies",
        f"postgresql://bob@db.example/studies?password={SECRET}&sslmode=require",
        f"postgresql://bob@db.example/studies?sslmode=require&PASSWORD={SECRET}",
        f"mysql+pymysql://bob@db.example/studies?passwd={SECRET}",
        f"postgresql://bob:{SECRET}@db.example/studies?sslpassword={SECRET}x",
    ],
)
def test_redact_hides_user_password_and_query_secrets(url):
    shown = redact(url)
    assert SECRET not in shown and "***" in shown
    assert shown.startswith(url.split("://")[0] + "://bob")
    assert SECRET not in scrub(f"connection to {url} failed: password {SECRET} rejected", url)


def test_redact_keeps_harmless_query_parameters():
    assert redact("postgresql://bob@h/db?sslmode=require") == "postgresql://bob@h/db?sslmode=require"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"])
@pytest.mark.parametrize("opener", [open_storage, open_for_reading])
def test_storage_in_memory_is_refused(url, opener):
    with pytest.raises(UserError, match="memory"):
        opener(url)


def test_a_missing_driver_names_the_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql now fails, installed or not
    url = f"mysql+pymysql://bob:{SECRET}@127.0.0.1:1/db?password={SECRET}"
    for opener in (open_storage, open_for_reading):
        with pytest.raises(UserError) as e:
            opener(url)
        assert "pip install 'PyMySQL'" in str(e.value) and SECRET not in str(e.value)


def test_joining_or_reading_never_creates_a_database(tmp_path):
    from unitsearch.search import join_study

    missing = tmp_path / "typo.db"
    with pytest.raises(UserError, match="no study database"):
        join_study(f"sqlite:///{missing}", "tiny")
    with pytest.raises(UserError, match="no study database"):
        open_for_reading(f"sqlite:///{missing}")
    assert not missing.exists()
    assert make_url(f"sqlite:///{missing}").database == str(missing)
