"""Worker processes: no orphan keeps computing after its parent dies."""
import os
import signal
import subprocess
import sys
import time

from helpers import ROOT

PARENT = """
import os, sys, time
sys.path.insert(0, {plugin_path!r})
from insar_deformation_detector.core.common.workers import process_pool
with process_pool(1) as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 120)
    time.sleep(120)
"""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return handle.read().split()[2] != "Z"


def test_a_worker_exits_when_its_parent_is_killed():
    script = PARENT.format(plugin_path=os.path.join(ROOT, "build", "pluginpath"))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.time() + 10
        while _alive(worker) and time.time() < deadline:
            time.sleep(0.2)
        assert not _alive(worker)
    finally:
        parent.kill()


def test_the_thread_budget_follows_omp_num_threads_and_else_takes_every_core(monkeypatch):
    from insar_deformation_detector.core.common.workers import thread_budget

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert thread_budget() == 1
    for unusable in ("", "0", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", unusable)
        assert thread_budget() == (os.cpu_count() or 1)
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_budget() == (os.cpu_count() or 1)
