"""A private single-node SLURM for tests: munged, slurmctld and slurmd of Debian's
slurm-wlm on this machine, every file, socket and port of theirs its own.

Needs root (slurmd starts job steps as their user) and the binaries; `unavailable` says
why not. Nothing outside the folder it is given is written, and `stop` ends every
process it started, jobs included (each carries its SLURM_CONF in its environment).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "scontrol", "scancel", "squeue", "sinfo")
SEARCH = os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin"))
# a test job's environment is ours, not that of a SLURM job the tests may run inside
FOREIGN = ("SLURM_", "SBATCH_", "SRUN_", "SALLOC_")


class SlurmError(RuntimeError):
    """The private SLURM did not come up, or a command of it failed."""


def unavailable() -> str | None:
    """Why a private SLURM cannot run here (None when it can)."""
    missing = [name for name in (*DAEMONS, *CLIENTS) if shutil.which(name, path=SEARCH) is None]
    if missing:
        return f"no {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "a private slurmd must run as root"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def ports_free(first: int, count: int) -> bool:
    for port in range(first, first + count):
        with socket.socket() as probe:
            try:
                probe.bind(("", port))
            except OSError:
                return False
    return True


def first_job_id(count: int) -> int:
    """A first job id whose next `count` jobs find their torchrun rendezvous ports
    free: docs/cluster/bsf.sbatch listens on 20000 + job id % 10000."""
    for _ in range(100):
        offset = random.randrange(0, 10000 - count)
        if ports_free(20000 + offset, count):
            return 10000 + offset
    raise SlurmError("no free run of ports in 20000-29999 for torchrun's rendezvous")


class MiniSlurm:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.conf = folder / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]
        self.daemons: list[subprocess.Popen] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
        self.env.update(SLURM_CONF=str(self.conf), PATH=SEARCH)

    # -- up and down ------------------------------------------------------------------
    def start(self, jobs: int = 8) -> None:
        munge = self.folder / "munge"
        for sub in ("state", "spool", "log"):
            (self.folder / sub).mkdir(parents=True)
        munge.mkdir(mode=0o700)
        key = self.folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        sock = munge / "sock"
        self._daemon(
            "munged",
            "--foreground",
            "--force",
            f"--socket={sock}",
            f"--key-file={key}",
            f"--log-file={munge / 'log'}",
            f"--pid-file={munge / 'pid'}",
            f"--seed-file={munge / 'seed'}",
            "--num-threads=4",
        )
        self._until(sock.exists, "munged's socket", 20)
        self.conf.write_text(self._config(sock, first_job_id(jobs)))
        self._daemon("slurmctld", "-D")
        self._daemon("slurmd", "-D")
        self._until(
            lambda: self.run("sinfo", "-h", "-o", "%t", check=False).strip() == "idle",
            "the node to be idle",
            60,
        )

    def _config(self, sock: Path, first_job: int) -> str:
        d = self.folder
        return f"""\
ClusterName=bsftest
SlurmctldHost={self.host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={d / "state"}
SlurmdSpoolDir={d / "spool"}
SlurmctldPidFile={d / "slurmctld.pid"}
SlurmdPidFile={d / "slurmd.pid"}
SlurmctldLogFile={d / "log" / "slurmctld.log"}
SlurmdLogFile={d / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
FirstJobId={first_job}
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName={self.host} CPUs=2 State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""

    def _daemon(self, name: str, *args: str) -> None:
        with (self.folder / "log" / f"{name}.out").open("w") as log:
            self.daemons.append(
                subprocess.Popen(
                    [shutil.which(name, path=SEARCH) or name, *args],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        """Cancel every job, end the daemons, then anything still carrying our config."""
        if self.daemons and self.daemons[-1].poll() is None:
            jobs = self.run("squeue", "-h", "-o", "%i", check=False).split()
            if jobs:
                self.run("scancel", *jobs, check=False)
                deadline = time.monotonic() + 60
                while self.run("squeue", "-h", "-o", "%i", check=False).strip():
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
        for daemon in reversed(self.daemons):
            if daemon.poll() is None:
                daemon.terminate()
                try:
                    daemon.wait(10)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
        for pid in self._ours():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _ours(self) -> list[int]:
        """Processes whose environment holds our SLURM_CONF (job steps, slurmstepd)."""
        mark = f"SLURM_CONF={self.conf}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if mark in environ.split(b"\0"):
                found.append(int(entry.name))
        return found

    # -- use ----------------------------------------------------------------------------
    def run(self, *command: str, check: bool = True) -> str:
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        if check and done.returncode != 0:
            raise SlurmError(f"{' '.join(command)}: {done.stderr.strip() or done.returncode}")
        return done.stdout

    def submit(self, script: Path, *args: str, cwd: Path, output: Path) -> str:
        """sbatch `script` with `args`, run in `cwd`; the job id."""
        return self.run(
            "sbatch", "--parsable", f"--chdir={cwd}", f"--output={output}", str(script), *args
        ).strip()

    def job(self, job_id: str) -> dict[str, str]:
        """scontrol's fields of a job (JobState, Restarts, …)."""
        line = self.run("scontrol", "-o", "show", "job", job_id)
        return dict(re.findall(r"(\w+)=(\S*)", line))

    def logs(self) -> str:
        """The tails of the daemons' logs, for a failure message."""
        tails = []
        for log in sorted((self.folder / "log").glob("*")):
            lines = log.read_text(errors="replace").splitlines()[-15:]
            tails.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(tails)

    def _until(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for daemon in self.daemons:
                if daemon.poll() is not None:
                    exited = f"{daemon.args[0]} exited ({daemon.returncode})"
                    raise SlurmError(f"{exited}\n{self.logs()}")
            if time.monotonic() > deadline:
                raise SlurmError(f"no {what} after {timeout:.0f} s\n{self.logs()}")
            time.sleep(0.1)
