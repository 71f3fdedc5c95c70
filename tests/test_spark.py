"""fastdcm.spark.index on a local Spark session gives the local index's rows."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java", allow_module_level=True)

from fastdcm import bulk, spark  # noqa: E402

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"


@pytest.fixture(scope="module")
def session():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors import this fastdcm
    spark_session = (SparkSession.builder.master("local[2]").appName("fastdcm-test")
                     .config("spark.ui.enabled", "false")
                     .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield spark_session
    spark_session.stop()


def test_spark_rows_equal_the_local_scan(session, tmp_path):
    shutil.copytree(TESTDATA, tmp_path / "testdata")  # both scans see the same files
    paths = [str(tmp_path / "testdata")]
    tags = list(bulk.DEFAULT_TAGS) + ["ReferencedImageSequence", "00090010"]
    df = spark.index(session, paths, tags, partitions=3)
    local = bulk.scan(paths, tags, workers=1)
    assert df.columns == local.column_names
    rows = sorted((row.asDict(recursive=True) for row in df.collect()),
                  key=lambda row: row["path"])
    expected = sorted(local.to_pylist(), key=lambda row: row["path"])
    for row in rows:  # Spark hands timestamps back in local time, without a zone
        row["mtime"] = row["mtime"].replace(tzinfo=None)
    for row in expected:
        row["mtime"] = row["mtime"].astimezone().replace(tzinfo=None)
    assert rows == expected
