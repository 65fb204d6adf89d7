#!/usr/bin/env bash
# Set up a fresh clone: a virtualenv in .venv with torch, the package and its test tools,
# and, when missing, Debian's PostgreSQL server binaries (used by the multi-worker tests)
# and Slurm with MUNGE (the single-node cluster of the Slurm tests, tests/slurm.py).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# torch first, pinned: pip takes these two from the machine's disk; a bare range would
# pull a newer multi-GB CUDA build from the registry.
if ! .venv/bin/python -c "import torch, torchvision" >/dev/null 2>&1; then
  .venv/bin/pip install --quiet --disable-pip-version-check "torch==2.14.1" "torchvision==0.29.1"
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing PostgreSQL server (Debian package) for the worker tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
fi

if ! { [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ]; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Slurm and MUNGE (Debian packages) for the Slurm tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi
