"""Tests of core/distributed/where.py: the WHERE text, and the LocalCluster's workers."""
import os

import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.common.workers import thread_budget
from insar_deformation_detector.core.distributed.where import Where, dask_client, parse_where


def test_where_texts_parse_and_print_back(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text("{}")
    assert parse_where("") == Where("process") and parse_where(" ").in_process
    assert parse_where("local:2") == Where("local", workers=2) and parse_where("local:2").text == "local:2"
    assert parse_where("tcp://scheduler:8786").text == "tcp://scheduler:8786"
    assert parse_where(str(scheduler_file)) == Where("scheduler_file", address=str(scheduler_file))
    with pytest.raises(InputError, match="WHERE: 'tcp://scheduler' needs a port"):
        parse_where("tcp://scheduler")


def test_local_workers_run_numpy_and_our_filters_on_one_thread_whatever_the_environment_says(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "")  # an empty value would leave OpenBLAS on every core
    with dask_client(parse_where("local:1")) as client:
        settings = client.run(lambda: [os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")]
                              + [thread_budget()])
    assert list(settings.values()) == [["1", "1", 1]]
