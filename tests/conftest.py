"""Fixtures for every test folder: a throw-away PostgreSQL server and Slurm cluster, storage URLs, the CLI as a process.

PostgreSQL tests carry ``@pytest.mark.postgres`` and Slurm tests ``@pytest.mark.slurm``; they
are skipped only when the binaries are absent (``scripts/setup.sh`` installs them) or, for
Slurm, when not root, never because a server failed to start: that is an error.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def _load_helper(name: str):
    """Load ``tests/NAME.py`` by its path: tests/ is not a package (--import-mode=importlib), and bench/ shares them."""
    spec = importlib.util.spec_from_file_location(f"unitsearch_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pg = _load_helper("pg")
slurm_cluster = _load_helper("slurm")

# Short heartbeats so a killed worker's trial is retried within seconds (unitsearch.storage.engine reads these).
FAST_HEARTBEAT = {"UNITSEARCH_HEARTBEAT_INTERVAL": "1", "UNITSEARCH_GRACE_PERIOD": "3"}


@pytest.fixture(autouse=True)
def _checkpoints_in_tmp(tmp_path, monkeypatch):
    """Trials keep their checkpoints in the test's folder, not in the working directory's default."""
    monkeypatch.setenv("UNITSEARCH_CHECKPOINTS", str(tmp_path / "checkpoints"))


def pytest_collection_modifyitems(items):
    for item in items:  # a test that needs the server (the cluster) is a postgres (slurm) test, marked or not
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if "slurm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slurm)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL cluster for the session, on a free loopback port, with password login."""
    if pg.find_bindir() is None:
        pytest.skip(pg.MISSING_REASON)
    with pg.PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def slurm():
    """One single-node Slurm for the session (partition ``debug``, 2 CPUs), started by the suite.

    Pass ``slurm.env`` (``SLURM_CONF`` set) to processes that call sbatch, squeue or scancel;
    submitit reads the test process's own environment: ``monkeypatch.setenv("SLURM_CONF", str(slurm.conf))``.
    """
    if slurm_cluster.find_slurm() is None:
        pytest.skip(slurm_cluster.MISSING_REASON)
    with slurm_cluster.SlurmCluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """A fresh, empty database on the session's server: ``postgresql://USER:PASSWORD@127.0.0.1:PORT/DB``."""
    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50].strip("_") or "db"
    return postgres_server.create_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage_url(request, tmp_path) -> str:
    """The same test on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    return request.getfixturevalue("postgres_url")


@dataclass
class SearchCli:
    """``unitsearch`` as separate processes (as users and schedulers start it), in ``cwd``."""

    cwd: Path
    env: dict[str, str]

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "unitsearch", *args]

    def run(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), cwd=self.cwd, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout)

    def popen(self, *args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        """Started with stdout and stderr in one pipe: read it with ``communicate(timeout=...)``."""
        return subprocess.Popen(
            self.argv(*args), cwd=self.cwd, env={**self.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
        )

    def space(self, text: str, name: str = "tiny") -> str:
        path = self.cwd / f"{name}.toml"
        path.write_text(text)
        return str(path)


@pytest.fixture
def search_cli(tmp_path) -> SearchCli:
    env = {**os.environ, **FAST_HEARTBEAT, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return SearchCli(tmp_path, env)


@pytest.fixture
def reap():
    """Processes a test started: any still alive at teardown are killed and waited for."""
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        try:
            p.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass


@pytest.fixture
def outcome():
    """``outcome(url, study)``: finished trials (COMPLETE or PRUNED) per ``plan_key``, and every trial.

    One read-only storage per URL for the whole test, so that polling opens no new connections.
    """
    import optuna

    from unitsearch.storage import open_storage  # PostgreSQL through psycopg 3, as the workers open it

    storages: dict[str, optuna.storages.RDBStorage] = {}

    def read(url: str, study: str) -> tuple[collections.Counter, list]:
        if url not in storages:
            storages[url] = open_storage(url, heartbeat=False)
        trials = optuna.load_study(study_name=study, storage=storages[url]).get_trials(deepcopy=False)
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        return collections.Counter(t.user_attrs.get("plan_key") for t in trials if t.state in finished), trials

    yield read
    for storage in storages.values():
        storage.engine.dispose()


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def in_objective(t) -> bool:
    """A RUNNING trial inside the objective: `config` is set when it starts, after the heartbeat thread has started."""
    return "config" in t.user_attrs


@pytest.fixture
def running_trials(outcome):
    """``running_trials(url, study, n=1, procs=(), where=None)``: a poll predicate, the ``n`` RUNNING trials ``where`` holds for.

    A process of ``procs`` that ends before then fails the test with its output.
    """

    def predicate(url: str, study: str, n: int = 1, procs=(), where=None):
        def check():
            for p in procs:
                if p.poll() is not None:
                    pytest.fail(f"{p.args} ended early ({p.returncode}): {p.communicate(timeout=10)[0]}")
            try:
                _, trials = outcome(url, study)
            except KeyError:  # the study is not created yet
                return None
            held = [t for t in trials if t.state.name == "RUNNING" and (where is None or where(t))]
            return held if len(held) >= n else None

        return check

    return predicate


@pytest.fixture
def checkpointed(running_trials):
    """``checkpointed(url, study, epoch, n=1, procs=())``: a poll predicate, the ``n`` running trials past a checkpoint of ``epoch``."""

    def predicate(url: str, study: str, epoch: int, n: int = 1, procs=()):
        return running_trials(url, study, n, procs, where=lambda t: (t.user_attrs.get("checkpoint") or {}).get("epoch", 0) >= epoch)

    return predicate


@pytest.fixture
def poll():
    """``poll(predicate, timeout=..., what=...)``: a bounded wait."""
    return wait_for


def write_image_tree(root, classes=("cat", "dog", "fox"), *, n_train: int = 4, n_val: int = 2, size: int = 20, seed: int = 0):
    """An ImageNet-layout folder of generated PNGs: ``root/{train,val}/<class>/<i>.png``, a colour per class."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for k, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                base = np.array([80 * (k % 3), 60 * (k % 4), 255 - 70 * (k % 3)], dtype=np.float64)
                pixels = np.clip(base + rng.normal(0, 30, (size, size + 4 * (i % 2), 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture
def image_tree(tmp_path):
    """A small image folder (3 classes, 4 train and 2 val images each, 20 px) written by the test."""
    return write_image_tree(tmp_path / "images")


@pytest.fixture
def make_image_tree():
    """``write_image_tree`` itself, for tests that need another tree (more classes, a broken file)."""
    return write_image_tree
