"""Where a tiled run executes: this process, a Dask LocalCluster, or a cluster the user started.

The WHERE text of an algorithm or of the command line:

- empty: in this process, tile after tile;
- ``local:N``: a LocalCluster of N single-threaded worker processes on this machine (N up to its cores;
  numpy's BLAS on one thread in each, whatever the environment says);
- ``tcp://host:port`` (or ``tls://``): the scheduler of a running cluster;
- the path of a scheduler file (``dask scheduler --scheduler-file``, dask-jobqueue, HPC batch jobs).

Dask is imported only when a cluster is asked for, so in-process runs never need it.
"""
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from ..common.dependencies import CLUSTER_PACKAGES, install_command, missing_packages
from ..common.errors import InputError
from ..common.workers import SINGLE_THREAD, spawning_python
from .package_shipping import ship_package

CONNECT_TIMEOUT_S = 10  # how long an unreachable scheduler may keep a run waiting before it fails
WORKER_MEMORY = "4GiB"  # per LocalCluster worker: a 2500 px tile's interpolation or detection fits in it
SCHEMES = ("tcp://", "tls://")


@dataclass(frozen=True)
class Where:
    """A parsed WHERE text: ``kind`` is "process", "local", "address" or "scheduler_file"."""

    kind: str
    workers: int = 0
    address: str = ""

    @property
    def text(self):
        """How the user would write this Where."""
        return {"process": "", "local": f"local:{self.workers}"}.get(self.kind, self.address)

    @property
    def in_process(self):
        return self.kind == "process"


def parse_where(text, parameter="WHERE"):
    """The Where of ``text`` (see the module); InputError naming ``parameter`` when it is none of them."""
    text = (text or "").strip()
    if not text:
        return Where("process")
    if text.lower().startswith("local:"):
        count = text.split(":", 1)[1].strip()
        if not count.isdigit() or int(count) < 1:
            raise InputError(parameter, f"'{text}' needs a whole number of workers of at least 1, as in local:4")
        if int(count) > (os.cpu_count() or 1):
            raise InputError(parameter, f"'{text}' asks for more workers than this machine's {os.cpu_count()} cores "
                                        "(each worker runs one tile on one core)")
        return Where("local", workers=int(count))
    if text.lower().startswith(SCHEMES):
        if ":" not in text.split("://", 1)[1]:
            raise InputError(parameter, f"'{text}' needs a port, as in tcp://scheduler-host:8786")
        return Where("address", address=text)
    if os.path.isfile(text):
        return Where("scheduler_file", address=os.path.abspath(text))
    raise InputError(parameter, f"'{text}' is not empty (this process), local:N, tcp://host:port or an "
                                "existing scheduler file")


@contextmanager
def dask_client(where, parameter="WHERE"):
    """A dask.distributed Client for ``where`` (a LocalCluster started and closed here), or None in process.

    InputError naming ``parameter`` when Dask is missing or no scheduler answers within CONNECT_TIMEOUT_S.
    """
    if where.in_process:
        yield None
        return
    if missing_packages(CLUSTER_PACKAGES):
        raise InputError(parameter, f"'{where.text}' needs Dask, which is not installed: install it with "
                                    f"{install_command(list(CLUSTER_PACKAGES))} (in QGIS: Plugins > InSAR "
                                    "Deformation Detector > Check dependencies...), or leave WHERE empty")
    from distributed import Client, LocalCluster

    if where.kind == "local":
        with spawning_python(), LocalCluster(n_workers=where.workers, threads_per_worker=1, processes=True,
                                             memory_limit=WORKER_MEMORY, dashboard_address=":0",
                                             env=SINGLE_THREAD) as cluster:
            with Client(cluster) as client:
                ship_package(client)
                yield client
        return
    keywords = {"scheduler_file": where.address} if where.kind == "scheduler_file" else {"address": where.address}
    try:
        client = Client(timeout=f"{CONNECT_TIMEOUT_S}s", **keywords)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(parameter, f"no Dask scheduler answered at {where.address} within "
                                    f"{CONNECT_TIMEOUT_S} s ({error})")
    with client:
        ship_package(client)
        yield client


def in_dask_worker():
    """Whether this code runs inside a task on a Dask worker."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True
