"""Child processes that die with their parent, and per-run temp folders that do not outlive it.

``run_child`` starts an external binary (never through a shell). On Linux the child asks the
kernel for ``PR_SET_PDEATHSIG = SIGKILL`` before it execs, so it is killed the moment its parent
dies, even by ``kill -9`` (no Python handler can run then). The signal is tied to the *thread*
that started the child: call ``run_child`` from a thread that outlives the child (it waits for
the child, so any caller does). Elsewhere the child gets its own session and is killed in
``finally`` on any exception (Ctrl-C included); a ``kill -9`` of the parent can then orphan it.

``run_dir`` makes one temp folder per run, named with the pid and holding an ``owner.json``
(pid, host, pid namespace, process start time), removed in ``finally``. Folders left by killed
processes are removed by ``remove_stale`` at the start of the next run: a folder is stale when
its owner ran on this host, in this pid namespace, and that process is gone (or the pid now
belongs to a process started at another time).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Iterator, Sequence

OWNER_FILE = "owner.json"
_NAME = re.compile(r"^(?P<prefix>.+)-pid(?P<pid>\d+)-[A-Za-z0-9_]+$")
_PR_SET_PDEATHSIG = 1
UNOWNED_GRACE_S = 3600.0  # a folder without owner.json is removed only when its pid is gone and it is older


def _pdeathsig_preexec():
    """A preexec_fn for Popen that makes the child die with this process (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return None
    parent = os.getpid()
    sig = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def run_child(args: Sequence[str], *, stderr_path: str | None = None) -> tuple[int, str]:
    """Run ``args`` to completion; return (exit status, tail of its stderr if ``stderr_path``).

    stdout is discarded; stderr goes to ``stderr_path`` (or is inherited when None).
    """
    preexec = _pdeathsig_preexec()
    err = open(stderr_path, "wb") if stderr_path else None
    try:
        proc = subprocess.Popen(
            list(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            preexec_fn=preexec, start_new_session=preexec is None, close_fds=True,
        )
        try:
            rc = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted while waiting: do not leave the child running
                _kill(proc, group=preexec is None)
    finally:
        if err is not None:
            err.close()
    tail = ""
    if stderr_path:
        with open(stderr_path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(stderr_path) - 2000))
            tail = fh.read().decode("utf-8", "replace").strip()
    return rc, tail


def _kill(proc: subprocess.Popen, *, group: bool) -> None:
    try:
        if group and hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):  # pragma: no cover - already gone
        pass
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _pid_ns() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "pidns": _pid_ns(), "start": _start_time(pid)}


def is_stale(path: str) -> bool:
    """Whether the run folder ``path`` belongs to a process that no longer runs (see module doc)."""
    m = _NAME.match(os.path.basename(path))
    if m is None or os.name != "posix":
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    pid = int(m.group("pid"))
    try:
        with open(os.path.join(path, OWNER_FILE), encoding="utf-8") as fh:
            owner = json.load(fh)
    except (OSError, ValueError):
        return not _alive(pid) and time.time() - st.st_mtime > UNOWNED_GRACE_S
    if not isinstance(owner, dict) or owner.get("pid") != pid:
        return False
    if owner.get("host") != socket.gethostname() or owner.get("pidns") != _pid_ns():
        return False  # another machine or container: its pids mean nothing here
    if not _alive(pid):
        return True
    start = owner.get("start")
    return start is not None and _start_time(pid) not in (None, start)  # the pid was reused


def remove_stale(prefix: str, base: str | None = None) -> int:
    """Remove stale run folders ``<base>/<prefix>-pid<N>-*``; return how many were removed."""
    base = base or tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return 0
    removed = 0
    for name in names:
        if not name.startswith(prefix + "-pid"):
            continue
        path = os.path.join(base, name)
        if os.path.isdir(path) and not os.path.islink(path) and is_stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed += not os.path.exists(path)
    return removed


@contextlib.contextmanager
def run_dir(prefix: str, base: str | None = None) -> Iterator[str]:
    """A fresh temp folder ``<base>/<prefix>-pid<N>-XXXX`` for one run, removed afterwards."""
    path = tempfile.mkdtemp(prefix=f"{prefix}-pid{os.getpid()}-", dir=base)
    try:
        with open(os.path.join(path, OWNER_FILE), "w", encoding="utf-8") as fh:
            json.dump(_owner(), fh)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
