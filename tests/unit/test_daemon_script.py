"""scripts/daemon.sh, which starts dockerd and the test registry: the server it starts keeps none of
its caller's descriptors beyond stdin, stdout and stderr, so a lock the caller holds
(`flock FILE make test`) is released when the caller ends, not when the server stops."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from unit.conftest import REPO_ROOT

DAEMON = Path(REPO_ROOT) / "scripts" / "daemon.sh"


def test_a_server_started_under_a_lock_does_not_keep_it(tmp_path):
    lock, log, marker = tmp_path / "lock", tmp_path / "server.log", "darevel-daemon-test-%d" % os.getpid()
    # The "server": a shell that reports its pid and open descriptors, then waits.
    server = "echo $$; readlink /proc/$$/fd/*; exec -a %s sleep 60" % marker
    subprocess.run(["flock", str(lock), str(DAEMON), str(log), "bash", "-c", server], check=True, timeout=30)
    pid = None
    try:
        for _attempt in range(50):
            if log.exists() and str(log) in log.read_text():
                break
            time.sleep(0.1)
        lines = log.read_text().split()
        pid, targets = int(lines[0]), lines[1:]
        assert str(lock) not in targets, targets
        free = subprocess.run(["flock", "-n", str(lock), "true"], check=False, timeout=10)
        assert free.returncode == 0, "the lock is still held after its caller ended"
        assert os.getsid(pid) == pid, "the server is not in a session of its own"
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
        else:
            subprocess.run(["pkill", "-f", marker], check=False)


@pytest.mark.parametrize("args", [[], ["LOG"]])
def test_the_usage_is_refused_without_a_command(tmp_path, args):
    args = [str(tmp_path / "server.log") if a == "LOG" else a for a in args]
    run = subprocess.run([str(DAEMON)] + args, capture_output=True, text=True, check=False, timeout=10)
    assert run.returncode == 2 and "usage:" in run.stderr, run
