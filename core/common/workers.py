"""Worker processes for CPU-bound batches, safe inside QGIS.

Processes are started with "spawn" (never "fork": QGIS is multi-threaded)
using a real Python interpreter (inside QGIS ``sys.executable`` may be the
QGIS program itself). Workers do not re-import the parent's main script, as
spawn normally does: a user's script that calls processing.run without an
``if __name__ == "__main__"`` guard would otherwise start over in every
worker. Each worker runs its maths on one thread, so that the results never
depend on how many workers share the work. Workers ignore Ctrl+C (SIGINT, sent
to the whole process group by a terminal): the parent decides, and ends them
at once when it stops early.
"""
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager

from .errors import Cancelled

SINGLE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
POLL_SECONDS = 0.2  # how often a waiting parent checks for Cancel
PARENT_POLL_SECONDS = 1.0  # how often a worker checks that its parent still lives


def python_executable():
    """Path of a Python interpreter matching the running one (same installation, same version).

    ``sys.executable`` of a Python embedded in QGIS may name another Python
    found on PATH (e.g. a pyenv one), so it is trusted only inside this
    installation's prefixes.
    """
    executable = os.path.abspath(sys.executable or "")
    prefixes = {os.path.abspath(prefix) for prefix in (sys.prefix, sys.exec_prefix, sys.base_exec_prefix)}
    if (os.path.basename(executable).lower().startswith("python")
            and any(executable.startswith(prefix + os.sep) for prefix in prefixes)):
        return executable
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [os.path.join(sys.exec_prefix, "python.exe"),
                  os.path.join(sys.exec_prefix, "bin", f"python{version}"),
                  os.path.join(sys.exec_prefix, "bin", "python3")]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise RuntimeError(f"no Python interpreter found beside QGIS (looked for {', '.join(candidates)})")


def thread_budget():
    """Threads this process's own maths may use: OMP_NUM_THREADS when it is a positive whole number
    (worker processes, ours and Dask's, are started with 1), else every core."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


def worker_count(requested):
    """Workers to start: ``requested``, or every core when it is 0 or None."""
    return max(1, int(requested) if requested else (os.cpu_count() or 1))


@contextmanager
def _environment(values):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _main_script_hidden():
    """Make spawn's workers skip the parent's __main__ (it finds it through __spec__ or __file__)."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)


@contextmanager
def spawning_python():
    """Processes spawned in this block run this installation's Python and skip the parent's __main__
    (a LocalCluster's workers as much as a process_pool's)."""
    multiprocessing.get_context("spawn").set_executable(python_executable())
    with _main_script_hidden():
        yield


def _exit_when_orphaned(parent_pid):
    """End this worker once its parent has gone (killed, crashed), so no orphan keeps computing."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _start_worker(parent_pid, initializer, initargs):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


@contextmanager
def process_pool(workers, initializer=None, initargs=()):
    """A ProcessPoolExecutor of ``workers`` single-threaded spawned processes.

    Workers start as jobs are submitted, so the environment stays prepared
    for the pool's whole life. When the block ends with an exception
    (Cancel, an error) the workers are terminated rather than left to finish
    their jobs. A worker whose parent dies exits within PARENT_POLL_SECONDS
    (where the OS reports the new parent: not Windows).
    """
    with _environment(SINGLE_THREAD), spawning_python():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                                   initargs=(os.getpid(), initializer, initargs))
        try:
            yield pool
        except BaseException:
            _terminate_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _terminate_workers(pool):
    """Stop a pool's running jobs now (Python 3.14's ProcessPoolExecutor.terminate_workers, or its equivalent)."""
    if hasattr(pool, "terminate_workers"):
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def ordered_results(pool, function, jobs, in_flight, is_cancelled=None):
    """Yield ``function(job)`` for each job, in order, computed in ``pool``.

    Keeps at most ``in_flight`` jobs submitted so results never pile up in
    memory. Raises Cancelled within POLL_SECONDS plus the running jobs' time
    once ``is_cancelled()`` is True; errors in a job are re-raised here.
    """
    jobs = iter(jobs)
    pending = []
    while True:
        while len(pending) < in_flight:
            job = next(jobs, None)
            if job is None:
                break
            pending.append(pool.submit(function, job))
        if not pending:
            return
        while not pending[0].done():
            if is_cancelled is not None and is_cancelled():
                for future in pending:
                    future.cancel()
                raise Cancelled()
            wait(pending[:1], timeout=POLL_SECONDS)
        yield pending.pop(0).result()
