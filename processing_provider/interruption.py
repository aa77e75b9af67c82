"""Ctrl+C (SIGINT) and SIGTERM as Cancel while an algorithm runs on the main thread.

``qgis_process`` and scripts calling ``processing.run`` run algorithms on the
main thread, where a signal would otherwise kill the process (leaving
staging files) or, in ``qgis_process`` 3.22, only cancel at the next Qt
event, which a long computation never reaches. While the algorithm runs,
both signals cancel its feedback instead: the algorithm stops at its next
cancel check (within seconds in every phase), removes its staging files and
fails with a message naming the signal. The previous handlers, including
QGIS's own C-level ones, are restored afterwards. In the desktop the
algorithm runs in a background task and the handlers are left alone.
"""
import ctypes
import ctypes.util
import signal
import threading
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))
SIGACTION_BYTES = 1024  # larger than any platform's struct sigaction (152 bytes on Linux x86-64)


def _sigaction():
    """libc's sigaction, or None where there is none (Windows)."""
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).sigaction
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    return function


def _saved_action(sigaction, signum):
    """The raw C-level action of ``signum`` (Python's getsignal does not see handlers installed in C)."""
    if sigaction is None:
        return None
    action = ctypes.create_string_buffer(SIGACTION_BYTES)
    return action if sigaction(signum, None, action) == 0 else None


@contextmanager
def signals_cancel(feedback):
    """Within the block, SIGINT and SIGTERM cancel ``feedback``; yields the list of signal names received."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def cancel(signum, _frame):
        received.append(signal.Signals(signum).name)
        feedback.cancel()

    sigaction = _sigaction()
    saved = {signum: (signal.getsignal(signum), _saved_action(sigaction, signum)) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, cancel)
    try:
        yield received
    finally:
        for signum, (handler, action) in saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            if action is not None:
                sigaction(signum, action, None)
