"""A throw-away single-node Slurm for tests: munged, slurmctld and slurmd as child processes, then gone.

It uses Debian's packages (``apt-get install slurm-wlm munge``) and needs root (the node runs
jobs as their submitter, and slurmd must be able to become any user). Nothing outside one
temporary folder is read or written: slurm.conf, the state and spool folders, the logs and pid
files live there, and so do a private MUNGE key and socket (``AuthInfo=socket=...``), so a
system munged, /etc/munge and /etc/slurm are neither needed nor touched. The controller and
the node daemon listen on free loopback ports, so two clusters (or other tests) cannot clash.

Client commands find the cluster through ``SLURM_CONF`` alone: pass ``cluster.env`` to any
process that calls ``sbatch``, ``squeue``, ``scontrol``, ``scancel`` or ``sacct`` (submitit
does, through the process environment). Needs nothing but the standard library::

    with SlurmCluster() as cluster:
        job = cluster.sbatch(["--array=0-2", "--wrap", "echo $SLURM_ARRAY_TASK_ID"])
        cluster.wait_gone(job, timeout=30)  # [('0', 'COMPLETED'), ('1', 'COMPLETED'), ('2', 'COMPLETED')]

Jobs run as root, on this machine, in the folder ``sbatch`` was called from (which must
still exist when they start). There is no accounting (no slurmdbd): ``sacct`` fails, and
submitit, which reads the test process's own environment (set ``SLURM_CONF`` there), logs
"Bypassing sacct error" on each poll and reads states as UNKNOWN, but still returns results.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["SlurmCluster", "find_slurm", "MISSING_REASON"]

MISSING_REASON = (
    "a single-node Slurm needs root and Debian's slurm-wlm and munge packages "
    "(slurmctld, slurmd, sbatch, squeue, scontrol, scancel, sinfo, munged): apt-get install slurm-wlm munge, as root"
)
DAEMONS = ("slurmctld", "slurmd", "munged")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo", "munge")
SEARCH_PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")  # daemons live in sbin, often off a user's PATH
START_TIMEOUT = 30  # seconds for munged's socket and for the node to read idle
COMMAND_TIMEOUT = 30  # seconds for one client command
STOP_TIMEOUT = 10  # seconds a daemon gets after SIGTERM before SIGKILL
CPUS = 2
PR_SET_PDEATHSIG = 1

# Plugins that need neither cgroups nor systemd; no accounting. KillWait is short so that a
# cancelled or requeued job's processes go within seconds; the scheduler runs every second
# and starts a batch job at once (Slurm's defaults wait 2-3 s per round).
CONF_TEMPLATE = """\
ClusterName=unitsearch-tests
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
MpiDefault=none
MailProg=/bin/true
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SlurmdParameters=config_overrides
KillWait=5
InactiveLimit=0
MinJobAge=300
MaxArraySize=1001
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} Boards=1 SocketsPerBoard=1 CoresPerSocket={cpus} ThreadsPerCore=1 RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def find_slurm() -> dict[str, Path] | None:
    """Paths of the daemons and client commands, or None when one is missing or we are not root."""
    if os.geteuid() != 0:
        return None
    search = os.pathsep.join([os.environ.get("PATH", ""), *SEARCH_PATH])
    found = {name: shutil.which(name, path=search) for name in (*DAEMONS, *CLIENTS)}
    if not all(found.values()):
        return None
    return {name: Path(path) for name, path in found.items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    """Half the machine's memory: what the node offers to jobs (config_overrides trusts it)."""
    return max(1024, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**21)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL (Linux prctl)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _tail(path: Path, chars: int) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class SlurmCluster:
    """One Slurm controller and one node (``hostname -s``, partition ``debug``) in a temporary folder.

    Args:
        cpus: CPUs the node offers (jobs of one CPU each run this many at a time).
    """

    def __init__(self, *, cpus: int = CPUS) -> None:
        paths = find_slurm()
        if paths is None:
            raise FileNotFoundError(MISSING_REASON)
        self.paths, self.cpus = paths, cpus
        self.host = socket.gethostname().split(".")[0]
        self.root: Path | None = None
        self.env: dict[str, str] = {}
        self.ctld_port = self.slurmd_port = 0
        self._procs: dict[str, subprocess.Popen] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlurmCluster:
        # A short path: the MUNGE socket's path must fit a sockaddr_un (108 bytes).
        self.root = Path(tempfile.mkdtemp(prefix="unitsearch-slurm-", dir="/tmp"))
        for sub in ("munge", "state", "spool", "run", "log", "jobs"):
            (self.root / sub).mkdir()
        # munged wants execute permission for all on its socket's folders.
        os.chmod(self.root, 0o711)
        os.chmod(self.root / "munge", 0o711)
        self._start_munged()
        for attempt in range(3):  # a free port can be taken between probing and binding
            self.ctld_port, self.slurmd_port = _free_port(), _free_port()
            self._write_conf()
            try:
                self._start_slurm()
                return self
            except RuntimeError:
                self._stop_daemons(("slurmd", "slurmctld"))
                if attempt == 2:
                    raise
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._cancel_all()
            self._stop_daemons(("slurmd", "slurmctld", "munged"))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> SlurmCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- use ---------------------------------------------------------------------------------

    @property
    def conf(self) -> Path:
        assert self.root is not None, "cluster not started"
        return self.root / "slurm.conf"

    @property
    def jobs_dir(self) -> Path:
        """Where ``sbatch`` submits from (and so where jobs start and ``slurm-%j.out`` land) by default."""
        assert self.root is not None, "cluster not started"
        return self.root / "jobs"

    def sbatch(self, args: Sequence[str], *, cwd: str | os.PathLike | None = None) -> str:
        """Submit ``sbatch ARGS`` from ``cwd`` (default: ``jobs_dir``); return the job id ("12")."""
        out = self._run("sbatch", "--parsable", *args, cwd=cwd or self.jobs_dir).stdout.strip()
        return out.split(";")[0]  # --parsable prints "ID" or "ID;CLUSTER"

    def squeue(self, job: str, *, all_states: bool = True) -> list[tuple[str | None, str]]:
        """``(array task id or None, state)`` per task of ``job`` ("12" or "12_1"), finished ones included.

        Empty once Slurm forgot the job (MinJobAge after it ended). With ``all_states=False``
        only pending, running and completing tasks are listed (squeue's default).
        """
        return [(task, state) for task, state, _ in self._queue(job, all_states=all_states)]

    def requeue(self, job_id: str, *, timeout: float = 15) -> None:
        """``scontrol requeue`` a job (or array task "12_1"), then ``release`` it: it starts again at once."""
        self._run("scontrol", "requeue", str(job_id))
        self.release(job_id, timeout=timeout)

    def release(self, job_id: str, *, timeout: float = 15) -> None:
        """Wait until ``job_id`` is requeued (by ``requeue``, or by the job itself: submitit on USR2), then start it now.

        Slurm holds a requeued batch job pending about two minutes (reason BeginTime): slurmd
        revoked the old launch credential, and a credential issued in that same second is
        refused too (the job fails with "Job credential revoked"). So: wait until the requeue
        is done and the job is held, let the clock pass into the next second, then send
        ``scontrol update StartTime=now`` (again if it did not take).
        """
        deadline = time.monotonic() + timeout
        sent = False
        while time.monotonic() < deadline:
            tasks = self._queue(job_id)
            held = [t for t in tasks if t[1] == "PENDING" and t[2] == "BeginTime"]
            if any(t[1] in ("RUNNING", "COMPLETING") for t in tasks) or (not held and not sent):
                time.sleep(0.1)  # the requeue is still under way
                continue
            if not held:
                return
            time.sleep(1.1 - time.time() % 1 if not sent else 1.0)  # into the next second; then retries
            self._run("scontrol", "update", f"JobId={job_id}", "StartTime=now")
            sent = True
        raise TimeoutError(f"job {job_id} not requeued and released within {timeout} s: {self._queue(job_id)}\n{self.log()}")

    def scancel(self, job: str, *args: str) -> None:
        """``scancel ARGS JOB``: e.g. ``scancel(task, "--signal=USR2")`` to warn a job as a preemption would."""
        self._run("scancel", *args, str(job))

    def wait_gone(self, job: str, timeout: float, *, interval: float = 0.2) -> list[tuple[str | None, str]]:
        """Wait until no task of ``job`` is pending, running or completing; return the final states."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.squeue(job, all_states=False):
                return self.squeue(job)
            time.sleep(interval)
        raise TimeoutError(f"job {job} still queued after {timeout} s: {self.squeue(job)}\n{self.log()}")

    def node_state(self) -> str:
        """The node's state as ``sinfo -h -o %t`` prints it: idle, mix, alloc, down, ... ("" if unknown)."""
        proc = self._run("sinfo", "-h", "-o", "%t", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def log(self, chars: int = 3000) -> str:
        """The tails of slurmctld's and slurmd's logs (and the daemons' own output), for failure messages."""
        if self.root is None:
            return ""
        parts = []
        for name in ("slurmctld", "slurmd", "munged"):
            # Under -D the daemons echo their log file on stderr: read the .out only when there is no log.
            text = _tail(self.root / "log" / f"{name}.log", chars) or _tail(self.root / "log" / f"{name}.out", chars)
            if text.strip():
                parts.append(f"--- {name} ---\n{text}")
        return "\n".join(parts)

    # --- internals ---------------------------------------------------------------------------

    @property
    def munge_socket(self) -> Path:
        assert self.root is not None, "cluster not started"
        return self.root / "munge" / "socket"

    def _queue(self, job: str, *, all_states: bool = True) -> list[tuple[str | None, str, str]]:
        """``(array task id or None, state, reason)`` per task of ``job``, as squeue prints them."""
        states = ["--states=all"] if all_states else []
        proc = self._run("squeue", "-h", "-r", "-j", str(job), *states, "-o", "%K|%T|%r", check=False)
        if proc.returncode != 0:
            if "Invalid job id" in proc.stderr:
                return []
            raise RuntimeError(f"squeue failed ({proc.returncode}): {proc.stderr.strip()}\n{self.log()}")
        rows = []
        for line in proc.stdout.splitlines():
            task, state, reason = (line.strip().split("|") + ["", ""])[:3]
            rows.append((None if task in ("N/A", "") else task, state, reason))
        return rows

    def _write_conf(self) -> None:
        self.conf.write_text(
            CONF_TEMPLATE.format(
                host=self.host, root=self.root, munge_socket=self.munge_socket, cpus=self.cpus, memory_mb=_memory_mb(),
                ctld_port=self.ctld_port, slurmd_port=self.slurmd_port,
            )
        )
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def _start_munged(self) -> None:
        """A private munged (root, its own random key and socket): the cluster's only MUNGE."""
        folder = self.root / "munge"
        key = folder / "munge.key"
        key.write_bytes(os.urandom(128))  # what mungekey writes: 1024 random bits
        os.chmod(key, 0o600)
        self._spawn(
            "munged", "-F", f"--key-file={key}", f"--socket={self.munge_socket}", f"--pid-file={folder / 'munged.pid'}",
            f"--seed-file={folder / 'munged.seed'}", "--num-threads=4",
        )
        self._until(lambda: self._munge_answers(), what="munged's socket", daemons=("munged",))

    def _munge_answers(self) -> bool:
        if not self.munge_socket.exists():
            return False
        proc = subprocess.run([str(self.paths["munge"]), "-n", "-S", str(self.munge_socket)], capture_output=True, timeout=COMMAND_TIMEOUT)
        return proc.returncode == 0

    def _start_slurm(self) -> None:
        self._spawn("slurmctld", "-D", "-i")
        self._spawn("slurmd", "-D", "-N", self.host)
        self._until(lambda: self.node_state() == "idle", what="the node to read idle", daemons=("munged", "slurmctld", "slurmd"))

    def _spawn(self, name: str, *args: str) -> None:
        with open(self.root / "log" / f"{name}.out", "ab") as out:
            self._procs[name] = subprocess.Popen(
                [str(self.paths[name]), *args], cwd=self.root, env=self.env or {**os.environ}, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,  # not hit by a Ctrl-C meant for pytest
                preexec_fn=_die_with_parent,  # nor left behind when pytest is killed
            )

    def _until(self, predicate, *, what: str, daemons: Sequence[str]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            dead = [name for name in daemons if self._procs[name].poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}\n{self.log()}")
            if predicate():
                return
            time.sleep(0.1)
        raise RuntimeError(f"timed out after {START_TIMEOUT} s waiting for {what}\n{self.log()}")

    def _steps(self) -> list[str]:
        """The job steps slurmd runs now: each has a socket ``HOST_JOB.STEP`` and a ``jobNNNNN`` folder in the spool."""
        spool = self.root / "spool"
        return [p.name for p in spool.iterdir() if p.name.startswith((f"{self.host}_", "job"))] if spool.is_dir() else []

    def _cancel_all(self) -> None:
        """Cancel every job still queued and wait (bounded) for their slurmstepd to exit, so none outlives the cluster."""
        alive = all(name in self._procs and self._procs[name].poll() is None for name in ("munged", "slurmctld", "slurmd"))
        if not alive or not self.env:
            return
        queued = self._run("squeue", "-h", "-o", "%F", check=False).stdout.split()
        if queued:
            self._run("scancel", *sorted(set(queued)), check=False)
        deadline = time.monotonic() + STOP_TIMEOUT + 5  # KillWait=5 after SIGTERM, then SIGKILL
        while time.monotonic() < deadline and (self._steps() or self._run("squeue", "-h", "-o", "%F", check=False).stdout.strip()):
            time.sleep(0.2)

    def _stop_daemons(self, names: Sequence[str]) -> None:
        for name in names:  # slurmd before slurmctld before munged, each waited for
            proc = self._procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)

    def _run(self, tool: str, *args: str, cwd: str | os.PathLike | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.paths[tool]), *args], cwd=cwd or self.root, env=self.env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}\n{self.log()}")
        return proc
