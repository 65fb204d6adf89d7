"""The pinned numerics: one trial, the same digits whatever instruction set the environment prefers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from unitsearch import numerics
from unitsearch.report.build import mixed_numerics
from unitsearch.report.collect import TrialRecord
from unitsearch.train import default_threads

X86 = platform.machine().lower() in ("x86_64", "amd64")
# Environments that prefer other kernels: this machine's widest, AVX2, and SSE4.1 with ATen's scalar-ish default.
PREFERENCES = {
    "machine's own": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "sse4.1": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "SSE4_2"},
}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*numerics.PINNED_ENV, numerics.SWITCH)}
    return {**env, **extra}


def _smoke_trial(env: dict[str, str]) -> dict:
    # Width 8, not the smoke profile's 4: oneDNN runs the same kernel for every instruction set
    # on 4 channels, so only a wider net shows what the pin is for.
    out = subprocess.run(
        [sys.executable, "-m", "unitsearch", "train", "-u", "original", "--profile", "smoke", "--width", "8", "--seed", "3", "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )
    return json.loads(out.stdout)


def _digits(record: dict) -> list[float]:
    return [record["val_error"], *(c["train_loss"] for c in record["curve"]), *(c["val_loss"] for c in record["curve"])]


@pytest.mark.skipif(not X86, reason="the pin is for x86-64 CPUs")
def test_one_trial_gives_the_same_digits_whatever_the_environment_prefers():
    runs = {name: _smoke_trial(_clean_env(**env)) for name, env in PREFERENCES.items()}
    digits = {name: _digits(r) for name, r in runs.items()}
    first = digits["machine's own"]
    assert all(d == first for d in digits.values()), digits
    assert all("AVX2 pinned" in r["numerics"] for r in runs.values()), [r["numerics"] for r in runs.values()]


@pytest.mark.skipif(not X86, reason="the pin is for x86-64 CPUs")
def test_without_the_pin_the_preferred_kernels_change_the_digits():
    # The control: this is what the test above would see if the pin were lost.
    native = {name: _smoke_trial(_clean_env(**env, UNITSEARCH_NUMERICS="native")) for name, env in PREFERENCES.items() if name != "avx2"}
    if "AVX2" not in native["machine's own"]["numerics"] and "AVX512" not in native["machine's own"]["numerics"]:
        pytest.skip("this CPU's own kernels are the SSE4.1 ones")
    assert _digits(native["machine's own"]) != _digits(native["sse4.1"])
    assert all("native" in r["numerics"] for r in native.values())


def test_pin_replaces_what_the_environment_asked_for(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    env = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    assert numerics.pin(env)
    assert {k: env[k] for k in numerics.PINNED_ENV} == numerics.PINNED_ENV
    native = {numerics.SWITCH: "native", "ATEN_CPU_CAPABILITY": "default"}
    assert not numerics.pin(native)
    assert native == {numerics.SWITCH: "native", "ATEN_CPU_CAPABILITY": "default"}


def test_pin_leaves_other_cpus_alone(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    env: dict[str, str] = {}
    assert not numerics.pin(env)
    assert env == {}


def test_pinned_workers_train_on_one_thread_whatever_the_cores(monkeypatch):
    monkeypatch.setattr(numerics, "is_pinned", lambda environ=None: True)
    assert default_threads(workers=1) == default_threads(workers=4) == 1
    monkeypatch.setattr(numerics, "is_pinned", lambda environ=None: False)
    assert default_threads(workers=1) >= 1


@pytest.mark.skipif(not X86, reason="the pin is for x86-64 CPUs")
def test_this_process_runs_the_pinned_kernels():
    assert numerics.check() is None
    assert "AVX2 pinned" in numerics.describe("cpu", threads=1)


def _record(n: int, text: str | None) -> TrialRecord:
    return TrialRecord(number=n, status="complete", unit="u", preset=None, h="identity", f="relu", branch="conv", seed=n,
                       error=50.0, numerics=text, used=True)


def test_the_report_warns_when_it_pools_trials_of_different_numerics():
    same = [_record(i, "torch 2.14.1, cpu AVX2 pinned, 1 thread") for i in range(3)]
    assert mixed_numerics(same) is None
    mixed = [*same, _record(3, "torch 2.14.1, cpu AVX512 native, 2 threads")]
    line = mixed_numerics(mixed)
    assert line is not None and "3 trials with torch 2.14.1, cpu AVX2 pinned, 1 thread" in line and "AVX512" in line
    unused = [*same, TrialRecord(number=9, status="failed", unit="u", preset=None, h="identity", f="relu", branch="conv", seed=9,
                                  numerics="other", used=False)]
    assert mixed_numerics(unused) is None
