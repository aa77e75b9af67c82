"""Calls, one per tile, run in this process or on a Dask cluster, with progress, Cancel and retries.

On a cluster every call is a task; a task whose worker dies is run again (RETRIES times) on
another, and an error a task raises (an InputError among them) reaches the caller as it was
raised. Cancel cancels the tasks not yet finished; what finished stays in the run folder.
"""
from ..common.errors import Cancelled

POLL_SECONDS = 0.5  # how often a waiting client checks for Cancel
RETRIES = 2  # a task whose worker died is run again this many times before the run fails


def run_tiles(client, calls, progress=None, is_cancelled=None, what="tile"):
    """Run ``calls``, a list of (key, function, args), in this process (``client`` None) or on ``client``.

    ``progress(fraction, message)`` is told after each call; ``is_cancelled()`` is polled every
    POLL_SECONDS on a cluster and between calls in this process (raising Cancelled).
    """
    report = progress or (lambda fraction, message: None)
    cancelled = is_cancelled or (lambda: False)
    report(0.0, f"{len(calls)} {what}(s) to run")
    if client is None:
        for number, (_, function, args) in enumerate(calls):
            if cancelled():
                raise Cancelled()
            function(*args)
            report((number + 1) / len(calls), f"{what.capitalize()} {number + 1} of {len(calls)}")
        return
    from distributed import wait

    pending = {client.submit(function, *args, key=key, pure=False, retries=RETRIES) for key, function, args in calls}
    finished_count = 0
    try:
        while pending:
            if cancelled():
                raise Cancelled()
            try:
                finished, pending = wait(pending, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in finished:
                future.result()
                finished_count += 1
            report(finished_count / len(calls), f"{finished_count} of {len(calls)} {what}s done")
    finally:
        if pending:
            client.cancel(list(pending))
