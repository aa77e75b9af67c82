"""Tests of core/distributed/chain.py: intermediates kept by content, so the next stage can resume."""
import os

from insar_deformation_detector.core.distributed.chain import kept


def test_an_intermediate_of_the_same_bytes_keeps_the_old_file_and_another_replaces_it(tmp_path):
    folder = tmp_path / "chain"
    folder.mkdir()
    (folder / "measurements.tif").write_bytes(b"same")
    os.utime(folder / "measurements.tif", ns=(1_000_000_000, 1_000_000_000))
    (tmp_path / "new.tif").write_bytes(b"same")
    path = kept(str(tmp_path / "new.tif"), str(folder), "measurements.tif")
    assert path == str(folder / "measurements.tif") and os.stat(path).st_mtime_ns == 1_000_000_000
    assert not (tmp_path / "new.tif").exists()
    (tmp_path / "other.tif").write_bytes(b"other")
    kept(str(tmp_path / "other.tif"), str(folder), "measurements.tif")
    assert (folder / "measurements.tif").read_bytes() == b"other" and not (tmp_path / "other.tif").exists()
