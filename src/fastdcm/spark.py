"""Bulk indexing on a Spark cluster, for archives one machine cannot get through (needs
the ``spark`` extra: pyspark).

    df = fastdcm.spark.index(spark, ["/mnt/archive"], tags=["PatientID", "Modality"])

The driver lists the files (the archive must be mounted at the same path on the
executors); the list is spread over partitions, and each executor reads its partition's
files with the same code as ``fastdcm.bulk.scan``, through ``mapInArrow``, so the
DataFrame has the same columns and values as the local index.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Optional

import pyarrow as pa

from fastdcm._bulk_columns import TagSpec, tag_columns
from fastdcm._bulk_read import Plan, read_chunk
from fastdcm._bulk_run import CHUNK_FILES, discover

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["index"]


def index(spark: "SparkSession", paths: Iterable[str], tags: Optional[Iterable[TagSpec]] = None,
          *, all_tags: bool = False, partitions: Optional[int] = None) -> "DataFrame":
    """A DataFrame of the files under `paths`, one row per file, with the columns of
    ``fastdcm.bulk.scan(paths, tags, all_tags=all_tags)``.

    `partitions` (default: Spark's default parallelism) is how many tasks share the files.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    plan = Plan(tag_columns(tags), all_tags)
    files = [(path,) for path in discover(list(paths))]
    count = max(1, min(partitions or spark.sparkContext.defaultParallelism, len(files)))
    listing = spark.createDataFrame(spark.sparkContext.parallelize(files, count), "path string")

    def read_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            names = batch.column(0).to_pylist()
            for start in range(0, len(names), CHUNK_FILES):
                yield read_chunk(plan, names[start:start + CHUNK_FILES])

    return listing.mapInArrow(read_partition, from_arrow_schema(plan.schema))
