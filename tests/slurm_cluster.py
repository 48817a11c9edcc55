"""A one-machine SLURM cluster for medflow's tests: install, configure, start, check and stop it.

By hand (as root):

    python tests/slurm_cluster.py start    # install slurm-wlm and munge if missing, start the daemons
    python tests/slurm_cluster.py status   # what sinfo says, or why there is no cluster
    python tests/slurm_cluster.py stop     # stop slurmd, slurmctld and munged by their pid files

The pytest fixture `slurm_cluster` (tests/conftest.py) calls `start()` once per session and `stop()`
at the end when it started the daemons itself. Debian's packages are used as they are: munge with a
fresh key, then `slurm.conf` written for this host (its name, CPU count and memory), no accounting
daemon, no cgroups. What was seen to work is recorded in ../shared/slurm-notes.md.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_DIRS = [
    Path("/etc/munge"),
    Path("/var/lib/munge"),
    Path("/var/log/munge"),
    Path("/run/munge"),
]
SLURM_DIRS = [Path("/var/spool/slurmd"), Path("/var/spool/slurmctld"), Path("/var/log/slurm")]
PID_FILES = {
    "slurmd": Path("/run/slurmd.pid"),
    "slurmctld": Path("/run/slurmctld.pid"),
    "munged": Path("/run/munge/munged.pid"),
}
SLURMCTLD_LOG = Path("/var/log/slurm/slurmctld.log")
SLURMD_LOG = Path("/var/log/slurm/slurmd.log")
PARTITION = "main"
MARKER = "# written by medflow tests/slurm_cluster.py"
PACKAGES = ["slurm-wlm", "munge"]
NEEDED_PROGRAMS = ["slurmctld", "slurmd", "munged", "sinfo", "srun", "sbatch", "squeue", "scancel"]


class ClusterUnavailable(RuntimeError):
    """This machine cannot run the test cluster; the message says why (shown as the skip reason)."""


def run(cmd: list[str], timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command, capturing its output; raise ClusterUnavailable with that output on failure."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ClusterUnavailable(f"`{' '.join(cmd)}` failed: {err}") from err
    if check and proc.returncode != 0:
        raise ClusterUnavailable(
            f"`{' '.join(cmd)}` exited {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-2000:]}"
        )
    return proc


def missing_programs() -> list[str]:
    """The SLURM and munge programs that are not installed (searched in PATH and the sbin folders)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [p for p in NEEDED_PROGRAMS if shutil.which(p, path=path) is None]


def ensure_installed() -> None:
    """Install Debian's slurm-wlm and munge when missing (needs root, apt-get and the network)."""
    missing = missing_programs()
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable(
            f"SLURM is not installed (missing {', '.join(missing)}) and installing it needs root"
        )
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(
            f"SLURM is not installed (missing {', '.join(missing)}) and there is no apt-get"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *PACKAGES]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:
            raise ClusterUnavailable(
                f"`{' '.join(cmd)}` exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"
            )
    still_missing = missing_programs()
    if still_missing:
        raise ClusterUnavailable(f"after installing {PACKAGES}, still missing {still_missing}")


def node_memory_mb() -> int:
    """Memory SLURM may hand out on this node: 90 % of the total, in MiB."""
    total_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return int(total_kib / 1024 * 0.9)


def slurm_conf_text(host: str, cpus: int, memory_mb: int) -> str:
    """slurm.conf for one machine that is both controller and only compute node."""
    return f"""{MARKER}: a one-machine test cluster; safe to delete.
ClusterName=medflow-test
SlurmctldHost={host}
AuthType=auth/munge
SlurmUser=root
SlurmctldPidFile={PID_FILES["slurmctld"]}
SlurmdPidFile={PID_FILES["slurmd"]}
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile={SLURMCTLD_LOG}
SlurmdLogFile={SLURMD_LOG}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def write_munge_key() -> None:
    """A random munge key (kept if one exists) and munge's folders, all owned by the munge user."""
    munge = pwd.getpwnam("munge")
    for folder in MUNGE_DIRS:
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, munge.pw_uid, munge.pw_gid)
    if not MUNGE_KEY.exists() or MUNGE_KEY.stat().st_size < 32:
        MUNGE_KEY.write_bytes(os.urandom(1024))
    os.chown(MUNGE_KEY, munge.pw_uid, munge.pw_gid)
    MUNGE_KEY.chmod(0o400)


def write_slurm_conf() -> None:
    """slurm.conf for this host; refuses to replace a slurm.conf that this script did not write."""
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        raise ClusterUnavailable(
            f"{SLURM_CONF} exists and was not written by this script; "
            "not replacing a real cluster's configuration"
        )
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    for folder in SLURM_DIRS:
        folder.mkdir(parents=True, exist_ok=True)
    text = slurm_conf_text(socket.gethostname(), os.cpu_count() or 1, node_memory_mb())
    SLURM_CONF.write_text(text)


def pid_alive(name: str) -> int | None:
    """The pid of a running daemon from its pid file, or None."""
    try:
        pid = int(PID_FILES[name].read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:  # a zombie or a recycled pid is not our daemon
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return pid
    return pid if Path(cmdline).name == name else None


def start_daemons() -> bool:
    """Start munged, slurmctld and slurmd unless each is already running; True if any started."""
    started = False
    if pid_alive("munged") is None:
        run(["su", "-s", "/bin/sh", "munge", "-c", "/usr/sbin/munged"])
        started = True
    wait_for(
        lambda: run(["sh", "-c", "munge -n | unmunge"], check=False).returncode == 0,
        20,
        "munged to answer (`munge -n | unmunge`)",
    )
    if pid_alive("slurmctld") is None:
        run(["/usr/sbin/slurmctld", "-c"])  # -c: a clean start, no jobs left from earlier runs
        started = True
    if pid_alive("slurmd") is None:
        run(["/usr/sbin/slurmd"])
        started = True
    return started


def wait_for(ready, seconds: float, what: str) -> None:
    """Poll `ready()` until it is true; raise ClusterUnavailable naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    raise ClusterUnavailable(f"timed out after {seconds:.0f} s waiting for {what}\n{log_tails()}")


def node_state() -> str:
    """The node's state as sinfo reports it ('idle', 'down*', ...), or '' when sinfo cannot answer."""
    proc = run(["sinfo", "--noheader", "--Node", "--format=%t"], timeout=15, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def node_idle() -> bool:
    """True when the node is idle; a node left down or drained by an earlier run is resumed."""
    state = node_state()
    if state.startswith(("down", "drain")):
        run(["scontrol", "update", f"NodeName={socket.gethostname()}", "State=RESUME"], check=False)
    return state == "idle"


def log_tails(lines: int = 15) -> str:
    """The last lines of the daemons' logs, to say why something did not start."""
    parts = []
    for log in (SLURMCTLD_LOG, SLURMD_LOG):
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log} ---\n" + "\n".join(tail))
    return "\n".join(parts)


def is_running() -> bool:
    """True when all three daemons run and the node takes jobs."""
    daemons_up = all(pid_alive(name) is not None for name in PID_FILES)
    return daemons_up and node_state() in {"idle", "mix", "alloc"}


def start() -> bool:
    """Make sure a working cluster runs; True when this call started a daemon (so stop them after)."""
    if is_running():
        return False
    if os.geteuid() != 0:
        raise ClusterUnavailable("starting a test SLURM cluster needs root (this user is not root)")
    ensure_installed()
    write_munge_key()
    write_slurm_conf()
    started = start_daemons()
    wait_for(node_idle, 60, "the node to be idle in `sinfo`")
    proc = run(["srun", "-N1", "hostname"], timeout=60, check=False)
    if proc.returncode != 0 or proc.stdout.strip() != socket.gethostname():
        raise ClusterUnavailable(
            f"`srun -N1 hostname` printed {proc.stdout.strip()!r} (exit {proc.returncode}): "
            f"{proc.stderr.strip()}\n{log_tails()}"
        )
    return started


def stop() -> None:
    """Cancel leftover jobs, then stop slurmd, slurmctld and munged by the pids in their pid files."""
    if pid_alive("slurmctld") is not None:
        run(["scancel", f"--partition={PARTITION}"], timeout=15, check=False)
    for name in ("slurmd", "slurmctld", "munged"):
        pid = pid_alive(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while pid_alive(name) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(name) is not None:
            os.kill(pid, signal.SIGKILL)


def status() -> str:
    """One paragraph on the cluster: the daemons' pids and sinfo's view."""
    pids = {name: pid_alive(name) for name in PID_FILES}
    lines = [f"{name}: {'pid ' + str(pid) if pid else 'not running'}" for name, pid in pids.items()]
    if pids["slurmctld"]:
        lines.append(run(["sinfo"], timeout=15, check=False).stdout.rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: start, stop or status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            started = start()
            print("started" if started else "already running")
            print(status())
        elif args.action == "stop":
            stop()
            print(status())
        else:
            print(status())
    except ClusterUnavailable as err:
        print(f"no SLURM cluster: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
