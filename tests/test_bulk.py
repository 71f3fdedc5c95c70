"""fastdcm.bulk and ``fastdcm index``: rows, types and values against pydicom, error rows,
pixel locators, tag selection, and runs that are killed, resumed and updated."""
from __future__ import annotations

import errno
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pydicom = pytest.importorskip("pydicom")

import fastdcm  # noqa: E402
from compare import _plain  # noqa: E402
from fastdcm import (_bulk_claims, _bulk_columns, _bulk_read, _bulk_run,  # noqa: E402
                     _bulk_store, bulk)
from fastdcm._bulk_columns import to_array  # noqa: E402
from fastdcm.cli import main  # noqa: E402
from reference_files import file_id, reference_files  # noqa: E402
from test_conformance import REJECTED  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "testdata"
# Damage that only a reader of the directory records' sequence would meet: the index
# does not parse sequences it was not asked for.
NOT_MET_BY_INDEX = {"dicomdirtests/DICOMDIR-nooffset"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """24 realistic CT slices (benchmarks/make_corpus.py): 2 patients, 4 studies, 12 series."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    out = tmp_path_factory.mktemp("archive")
    make_corpus.make_ct(out / "ct", 24, series=3, studies=2, patients=2)
    return out


def pydicom_read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, force=True, **kwargs)


def expected_row(path: str, schema) -> dict:
    """The default tags' values as pydicom reads them, in the index's column types."""
    ds = pydicom_read(path, stop_before_pixels=True)
    row = {}
    for keyword in bulk.DEFAULT_TAGS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's words on odd values, when converting
            value = ds.get(keyword)
        value = None if value is None else _plain(value)
        row[keyword] = to_array([value], schema.field(keyword).type).to_pylist()[0]
    return row


def check_against_pydicom(table) -> int:
    """Every row read cleanly has pydicom's values; returns how many rows were compared."""
    compared = 0
    for row in table.to_pylist():
        if row["error"] is not None:
            continue
        expected = expected_row(row["path"], table.schema)
        assert {k: row[k] for k in expected} == expected, row["path"]
        compared += 1
    return compared


def test_conformance_files(tmp_path):
    files = reference_files()
    table = bulk.scan(files, workers=2)
    assert table["path"].to_pylist() == [str(p) for p in files]
    assert check_against_pydicom(table) > 200
    by_name = {file_id(Path(row["path"])): row for row in table.to_pylist()}
    for name in set(REJECTED) - NOT_MET_BY_INDEX:
        if name in by_name:
            assert by_name[name]["error"], name
    dicomdirs = {name for name, row in by_name.items() if row["is_dicomdir"]}
    assert dicomdirs and all("DICOMDIR" in name for name in dicomdirs)


def test_a_chunk_holds_what_its_files_hold_one_by_one():
    """The value columns of a chunk are built in C where a value is plain and from Python
    values where it is not (see _bulk_builders): in one column of many files, the two
    mix. Every top-level tag of the conformance files, read in one chunk, gives the rows
    that each file gives read alone."""
    files = [str(p) for p in reference_files()] + [str(p) for p in sorted(
        TESTDATA.rglob("*.dcm"))]
    tags = set()
    for path in files:
        try:
            with fastdcm.read(path, stop_before_pixels=True) as ds:
                tags.update(e.tag for e in ds if e.tag >> 16 != 2)
        except fastdcm.InvalidDicomError:
            pass
    tags = sorted(tags)
    assert len(tags) > 500
    for start in range(0, len(tags), 300):
        plan = _bulk_read.Plan(_bulk_columns.tag_columns(tags[start:start + 300]))
        together = pa.Table.from_batches([_bulk_read.read_chunk(plan, files)])
        alone = pa.Table.from_batches([_bulk_read.read_chunk(plan, [p]) for p in files])
        assert together.num_rows == len(files)
        together.validate(full=True)  # the buffers made in C are well formed Arrow
        for name in together.column_names:
            assert together[name].equals(alone[name]), name


def test_pixel_locators_against_pydicom():
    table = bulk.scan(reference_files(), workers=2)
    native = encapsulated = 0
    for row in table.to_pylist():
        if row["error"] or row["pixel_offset"] is None:
            continue
        ds = pydicom_read(row["path"], defer_size=256)
        raw = next(ds.get_item(tag, keep_deferred=True) for tag in _bulk_read.PIXEL_TAGS
                   if tag in ds)
        assert row["pixel_offset"] == raw.value_tell, row["path"]
        with open(row["path"], "rb") as f:
            f.seek(row["pixel_offset"])
            value = f.read(row["pixel_length"])
        assert value == bytes(ds[raw.tag].value), row["path"]
        if raw.length != 0xFFFFFFFF:
            native += 1
            assert row["frame_offsets"] is None
        elif row["frame_offsets"] is not None:
            encapsulated += 1
            with fastdcm.read(row["path"]) as ours:
                for i, (offset, length) in enumerate(zip(row["frame_offsets"],
                                                         row["frame_lengths"])):
                    assert value[offset - row["pixel_offset"]:][:length] == \
                        bytes(ours.encoded_frame(i))
        assert row["rows"] == ds.get("Rows") and row["bits_allocated"] == ds.get(
            "BitsAllocated")
    assert native > 50 and encapsulated > 20


def test_generated_archive(archive):
    table = bulk.scan(archive, workers=2)
    assert table.num_rows == 24 and table["error"].null_count == 24
    assert check_against_pydicom(table) == 24
    summary = bulk.summarize(table)
    assert (summary.files, summary.studies, summary.series, summary.errors) == (24, 4, 12, 0)
    assert summary.modalities == {"CT": 24}
    assert len(set(table["PatientID"].to_pylist())) == 2
    types = {f.name: str(f.type) for f in table.schema}
    assert types["PatientName"] == "string" and types["SeriesNumber"] == "int64"
    assert types["SliceThickness"] == "double"
    assert types["ImagePositionPatient"] == "list<item: double>"
    assert types["ImageType"] == "list<item: string>"
    assert types["mtime"] == "timestamp[us, tz=UTC]" and types["is_dicomdir"] == "bool"
    row = table.slice(0, 1).to_pylist()[0]
    assert (row["rows"], row["columns"], row["bits_allocated"]) == (512, 512, 16)
    assert row["number_of_frames"] == 1 and row["pixel_length"] == 512 * 512 * 2
    assert row["pixel_offset"] + row["pixel_length"] == row["size"]


def test_same_table_from_one_or_many_workers(archive, tmp_path):
    shutil.copytree(TESTDATA, tmp_path / "testdata")  # both scans see the same files
    paths = [archive, tmp_path / "testdata"]
    assert bulk.scan(paths, workers=1).equals(bulk.scan(paths, workers=2))


def test_claims_share_a_chunk_between_worker_and_parent():
    claims = _bulk_claims.Claims(4, threading.Lock())
    piece = _bulk_claims.PIECE_FILES
    assert claims.take_back(0, 10) == (0, 10)  # not begun: the parent takes it all
    assert claims.next_piece(0, 0, 10) == 0  # and the worker finds nothing left
    assert claims.next_piece(1, 0, 10 * piece) == piece
    middle = piece + 9 * piece // 2
    assert claims.take_back(1, 10 * piece) == (middle, 10 * piece)
    end, ends = piece, []
    while True:  # the worker reads up to where the parent took over, and no further
        start, end = end, claims.next_piece(1, end, 10 * piece)
        if end == start:
            break
        ends.append(end)
    assert ends[-1] == middle and all(b - a <= piece for a, b in zip([piece] + ends, ends))
    assert claims.take_back(1, 10 * piece) is None  # nothing unclaimed is left
    assert claims.next_piece(5, 0, 3) == 3  # slot 1 again, for a later chunk
    assert claims.take_back(5, 3) is None  # under two pieces left: not worth taking


def test_claims_give_up_on_a_lock_a_dead_worker_holds(monkeypatch):
    monkeypatch.setattr(_bulk_claims, "LOCK_SECONDS", 0.05)
    lock = threading.Lock()
    claims = _bulk_claims.Claims(4, lock)
    lock.acquire()  # as by a worker killed inside next_piece
    assert claims.take_back(0, 10) is None


def test_parent_takes_back_from_a_slow_worker(archive, tmp_path, monkeypatch):
    """A worker on a loaded core is left only what it has started; the table is the same."""
    shutil.copytree(TESTDATA, tmp_path / "testdata")
    paths = [archive, tmp_path / "testdata"]
    expected = bulk.scan(paths, workers=1)
    monkeypatch.setattr(_bulk_run, "CHUNK_FILES", 16)
    monkeypatch.setattr(_bulk_run, "TAIL_CHUNK_FILES", 4)
    monkeypatch.setattr(_bulk_claims, "PIECE_FILES", 2)
    parent, read_chunk, parent_rows = os.getpid(), _bulk_run.read_chunk, []

    def slowly(paths):
        for path in paths:
            time.sleep(0.02)
            yield path

    def read(plan, paths):
        if os.getpid() != parent:
            return read_chunk(plan, slowly(paths))
        batch = read_chunk(plan, paths)
        parent_rows.append(batch.num_rows)
        return batch

    take_back, taken = _bulk_claims.Claims.take_back, []

    def record(claims, number, length):
        taken.append(take_back(claims, number, length))
        return taken[-1]

    monkeypatch.setattr(_bulk_run, "read_chunk", read)
    monkeypatch.setattr(_bulk_claims.Claims, "take_back", record)
    assert bulk.scan(paths, workers=2).equals(expected)
    assert sum(parent_rows) > expected.num_rows * 3 // 4
    assert any(part is not None and part[0] > 0 for part in taken)  # a started chunk's rest


def test_a_worker_killed_holding_the_claims_lock_ends_the_scan(archive, tmp_path,
                                                              monkeypatch):
    """An error, not a hang: the parent gives up on the lock and finds the worker gone."""
    shutil.copytree(TESTDATA, tmp_path / "testdata")
    monkeypatch.setattr(_bulk_run, "CHUNK_FILES", 16)
    monkeypatch.setattr(_bulk_claims, "LOCK_SECONDS", 0.05)
    parent, next_piece = os.getpid(), _bulk_claims.Claims.next_piece

    def dying(claims, number, start, length):
        if os.getpid() != parent:  # at its first claim
            claims.lock.acquire()
            os.kill(os.getpid(), signal.SIGKILL)
        return next_piece(claims, number, start, length)

    monkeypatch.setattr(_bulk_claims.Claims, "next_piece", dying)
    with pytest.raises(_bulk_run.WorkerDied):
        bulk.scan([archive, tmp_path / "testdata"], workers=2)


def reader_error(path: Path):
    """What fastdcm.read says of a file when the index's columns are read from it."""
    try:
        with warnings.catch_warnings(), fastdcm.read(path) as ds:
            warnings.simplefilter("ignore")
            for keyword in bulk.DEFAULT_TAGS + ("SOPClassUID", "Rows", "NumberOfFrames"):
                ds.get_value(keyword)
    except fastdcm.InvalidDicomError as exc:
        return str(exc)
    return None


def test_error_rows_for_malformed_files():
    table = bulk.scan(TESTDATA, workers=2)
    rows = {Path(row["path"]).name: row for row in table.to_pylist()}
    assert len(rows) == sum(1 for p in TESTDATA.rglob("*") if p.is_file())
    assert rows["make_malformed.py"]["error"].startswith("not DICOM")
    for path in sorted(TESTDATA.glob("malformed*/*.dcm")):
        row = rows[path.name]
        assert row["error"] == reader_error(path), path.name
        if row["error"]:
            assert row["size"] == path.stat().st_size and row["SOPInstanceUID"] is None \
                or row["transfer_syntax_uid"] is not None  # a value error keeps the rest
    assert rows["truncated_value.dcm"]["error"].startswith("value length past the end")
    assert rows["empty.dcm"]["error"].startswith("empty input")


def test_numbers_kept_as_text_by_pydicom():
    """pydicom keeps every value of a DS or IS as text when one does not convert: each
    that is a number by PS3.5's grammar is still its number in the typed column, the rest
    null (not "nan" or "1_0", which Python's float and int take)."""
    row = bulk.scan(TESTDATA / "malformed" / "garbage_text_values.dcm").to_pylist()[0]
    assert row["error"] is None
    assert row["ImageOrientationPatient"] == [1.0, 0.0, 0.0, 0.0, None, 0.0]
    assert row["ImagePositionPatient"] == [None, None, None]  # abc, 1..2, empty
    assert row["InstanceNumber"] is None  # nan
    assert row["PixelSpacing"] == [float("inf"), float("-inf")]  # as pydicom converts them
    assert to_array(["7", " -8 ", "1_0", "\u0661", "9\n", 3], pa.int64()).to_pylist() == \
        [7, -8, None, None, None, 3]
    assert to_array([".5", "5.", "+1E-3", "nan", "-", "1e999"], pa.float64()).to_pylist() == \
        [0.5, 5.0, 0.001, None, None, float("inf")]


def test_unreadable_and_vanishing_files(tmp_path):
    (tmp_path / "a.dcm").write_bytes(b"DICM")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.dcm").write_bytes(b"\0" * 132 + b"DICM")
    table = bulk.scan([tmp_path / "a.dcm", tmp_path / "sub"], workers=1)
    assert table.num_rows == 2 and all(table["error"].to_pylist())
    with pytest.raises(FileNotFoundError):
        bulk.scan(tmp_path / "missing", workers=1)
    rows = _bulk_read.read_chunk(_bulk_read.Plan(()), [str(tmp_path / "gone.dcm")])
    assert rows.to_pylist()[0]["error"].startswith("[Errno 2]")


def unprivileged(work):
    """work() as a user who may not enter folders of mode 0: in a child that drops root
    (nobody), when the tests run as root, whom permissions do not stop."""
    if os.geteuid() != 0:
        return work()
    ours, theirs = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ours)
            os.setgid(65534)
            os.setuid(65534)
            os.write(theirs, pickle.dumps(("ok", work())))
        except BaseException as exc:
            os.write(theirs, pickle.dumps(("failed", repr(exc))))
        finally:
            os._exit(0)
    os.close(theirs)
    with os.fdopen(ours, "rb") as answer:
        outcome, value = pickle.loads(answer.read())
    os.waitpid(pid, 0)
    assert outcome == "ok", value
    return value


def test_what_cannot_be_looked_at_is_a_row_with_its_error():
    """A folder that cannot be listed, a link that loops, one into a folder we may not
    enter: each is a row saying why, beside the files that read (one of them used to drop
    its whole folder from the index, unnoticed). A link to nothing is no file at all."""
    top = Path(tempfile.mkdtemp(dir="/tmp"))  # tmp_path's parents may be closed to nobody
    try:
        top.chmod(0o755)
        for folder in ["locked", "open"]:
            (top / folder).mkdir(mode=0o755)
            shutil.copy(TESTDATA / "valid" / "ct_explicit_le.dcm", top / folder / "ct.dcm")
            (top / folder / "ct.dcm").chmod(0o644)
        (top / "open" / "loop").symlink_to("loop")
        (top / "open" / "into_locked").symlink_to("../locked/ct.dcm")
        (top / "open" / "dangling").symlink_to("nowhere")
        (top / "locked").chmod(0)
        codes = {f"{top}/locked": errno.EACCES, f"{top}/open/ct.dcm": None,
                 f"{top}/open/into_locked": errno.EACCES, f"{top}/open/loop": errno.ELOOP}

        def error(path):
            code = codes[path]
            return code and f"[Errno {code}] {os.strerror(code)}: '{path}'"

        for workers in (1, 2):
            rows = unprivileged(lambda: bulk.scan(top, workers=workers).to_pylist())
            assert [row["path"] for row in rows] == sorted(codes)
            for row in rows:
                assert row["error"] == error(row["path"])
                assert (row["SOPInstanceUID"] is None) == (row["error"] is not None)
        rows = unprivileged(lambda: bulk.scan(top / "locked", workers=1).to_pylist())
        assert [row["error"] for row in rows] == [error(f"{top}/locked")]
    finally:
        (top / "locked").chmod(0o755)
        shutil.rmtree(top)


# The error and version columns as plain Python values (time zones need files that a
# process dropped to nobody may not be able to read).
VERSION_AS_NUMBERS = pa.schema([("error", pa.string()), ("size", pa.int64()),
                                ("mtime", pa.int64())])


def test_a_file_that_cannot_be_read_is_a_row_with_its_version(tmp_path):
    """Each file is opened once, its size and time taken from what was opened: one that
    may not be read still has them (so that --update tells when it changes), and a FIFO
    named, or put where a file was, is a row with its error, not a wait for a writer."""
    top = Path(tempfile.mkdtemp(dir="/tmp"))  # tmp_path's parents may be closed to nobody
    try:
        top.chmod(0o755)
        shutil.copy(TESTDATA / "valid" / "ct_explicit_le.dcm", top / "secret.dcm")
        (top / "secret.dcm").chmod(0)
        version = os.stat(top / "secret.dcm")
        row, = unprivileged(lambda: bulk.scan(top, workers=1).select(["error", "size", "mtime"])
                            .cast(VERSION_AS_NUMBERS).to_pylist())
        assert row == {"error": f"[Errno 13] Permission denied: '{top}/secret.dcm'",
                       "size": version.st_size, "mtime": version.st_mtime_ns // 1000}
    finally:
        shutil.rmtree(top)
    os.mkfifo(tmp_path / "pipe.dcm")

    def waited(*_):
        raise TimeoutError("the FIFO was waited on")

    previous = signal.signal(signal.SIGALRM, waited)
    signal.alarm(30)
    try:
        rows = _bulk_read.read_chunk(_bulk_read.Plan(()), [str(tmp_path / "pipe.dcm")])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert rows.to_pylist()[0]["error"] == "empty input [offset 0]"


def test_file_names_that_are_not_utf8(tmp_path, monkeypatch):
    """Arrow strings are UTF-8; an old archive's Latin-1 name (Python's surrogates) is a row
    with the name's other bytes as \\xNN, read and resumed like any other."""
    raw = os.fsencode(tmp_path)
    data = (TESTDATA / "valid" / "ct_explicit_le.dcm").read_bytes()
    for name, content in [(b"caf\xe9.dcm", data), (b"\xff\xfe", b"not DICOM"),
                          (b"plain.dcm", data)]:
        with open(os.path.join(raw, name), "wb") as file:
            file.write(content)
    for workers in (1, 2):
        rows = {row["path"]: row for row in bulk.scan(tmp_path, workers=workers).to_pylist()}
        assert sorted(rows) == sorted([f"{tmp_path}/plain.dcm", f"{tmp_path}/caf\\xe9.dcm",
                                       f"{tmp_path}/\\xff\\xfe"])
        latin, plain = rows.pop(f"{tmp_path}/caf\\xe9.dcm"), rows.pop(f"{tmp_path}/plain.dcm")
        assert {**latin, "path": None, "mtime": None} == {**plain, "path": None, "mtime": None}
        assert rows[f"{tmp_path}/\\xff\\xfe"]["error"].startswith("not DICOM")

    out = tmp_path / "index.parquet"
    bulk.index(tmp_path, out, workers=1)
    read = []
    chunk_reader = _bulk_read.read_chunk
    monkeypatch.setattr("fastdcm._bulk_run.read_chunk",
                        lambda plan, paths: read.extend(paths) or chunk_reader(plan, paths))
    bulk.index(tmp_path, out, workers=1, resume=True)
    assert read == [] and pq.read_table(out).num_rows == 3


def test_counts_below_one_are_refused(tmp_path, capsys):
    """0 and -1 mean "all cores" to some tools: refused, rather than read one way or another."""
    for workers in (0, -1):
        with pytest.raises(ValueError, match="workers must be at least 1"):
            bulk.scan(TESTDATA, workers=workers)
    with pytest.raises(ValueError, match="row_group_rows must be at least 1"):
        bulk.index(TESTDATA, tmp_path / "index.parquet", row_group_rows=0)
    for option in (["--workers", "0"], ["--workers", "-1"], ["--row-group-rows", "x"]):
        with pytest.raises(SystemExit):
            main(["index", str(TESTDATA), "-o", str(tmp_path / "index.parquet")] + option)
        assert "is not a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "index.parquet").exists()


def test_an_output_that_cannot_be_written(tmp_path, capsys):
    """Refused before any file is read, under the output's name, leaving nothing behind
    (a file that is not an index, to resume, too)."""
    (tmp_path / "folder").mkdir()
    folder, missing = tmp_path / "folder", tmp_path / "missing"
    for output, named, message in [(folder, folder, "the output is a folder"),
                                   (missing / "index.parquet", missing, "no such folder")]:
        assert main(["index", str(TESTDATA), "-o", str(output)]) == 1
        assert capsys.readouterr().err.startswith(f"fastdcm: {named}: {message}")
    not_parquet = tmp_path / "notes.txt"
    not_parquet.write_text("not an index")
    assert main(["index", str(TESTDATA), "-o", str(not_parquet), "--resume"]) == 1
    assert capsys.readouterr().err.startswith(f"fastdcm: {not_parquet}: Parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "notes.txt"]
    assert not list((tmp_path / "folder").iterdir())


def test_one_run_at_a_time_writes_an_output(tmp_path, capsys):
    """A second run on the output of one that goes on is refused, and leaves its journal
    alone: it used to clear it, ending the first run, or leave it with the other's rows."""
    out = tmp_path / "index.parquet"
    with _bulk_store.Store(out, bulk.schema()) as running:
        running.start(resume=False)
        running.write_part(bulk.scan(TESTDATA / "valid", workers=1))
        for resume in (False, True):
            with pytest.raises(BlockingIOError, match="another run is writing this index"):
                bulk.index(TESTDATA, out, workers=1, resume=resume)
        assert main(["index", str(TESTDATA), "-o", str(out)]) == 1
        assert capsys.readouterr().err == \
            f"fastdcm: {out}: another run is writing this index\n"
        assert running.new_parts[0].exists() and not out.exists()
    bulk.index(TESTDATA / "valid", out, workers=1, resume=True)  # its turn now
    assert pq.read_table(out).num_rows == len(list((TESTDATA / "valid").iterdir()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.parquet"]


def test_tags_by_keyword_hex_private_and_sequence():
    path = TESTDATA / "valid" / "ct_explicit_le.dcm"
    table = bulk.scan(path, tags=["PatientID", "0x00100020", "(0008,0060)", "00090010",
                                  "ReferencedImageSequence", 0x00280030], workers=1)
    names = table.column_names
    assert names[7:11] == ["PatientID", "Modality", "0009_0010", "ReferencedImageSequence"]
    row = table.to_pylist()[0]
    ds = pydicom_read(path)
    assert row["PatientID"] == ds.PatientID and row["PixelSpacing"] == list(ds.PixelSpacing)
    for column, tag in (("0009_0010", 0x00090010), ("ReferencedImageSequence", 0x00081140)):
        if tag in ds:
            assert json.loads(row[column]) == ds[tag].to_json_dict(1024, None)
        else:
            assert row[column] is None
    with pytest.raises(ValueError):
        bulk.scan(path, tags=["NoSuchKeyword"])


def test_resolve_tags():
    assert bulk.resolve_tags(None) is None and bulk.resolve_tags("") is None
    assert bulk.resolve_tags("PatientID, 00100020") == ["PatientID", "00100020"]
    assert bulk.resolve_tags("+PatientWeight") == list(bulk.DEFAULT_TAGS) + ["PatientWeight"]


def test_all_tags_as_dicom_json():
    path = TESTDATA / "valid" / "ct_implicit_le.dcm"
    row = bulk.scan(path, all_tags=True, workers=1).to_pylist()[0]
    with fastdcm.read(path, stop_before_pixels=True) as ds:
        assert json.loads(row["dicom_json"]) == json.loads(json.dumps(ds.to_json_dict()))
    assert "00100010" in json.loads(row["dicom_json"])


def test_cli_index_prints_summary(tmp_path, capsys):
    out = tmp_path / "index.parquet"
    assert main(["index", str(TESTDATA), "-o", str(out), "--tags", "+PatientWeight"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = pq.read_table(out)
    assert "PatientWeight" in table.column_names
    errors = table.num_rows - table["error"].null_count
    assert lines[0].startswith(f"files       {table.num_rows}")
    assert lines[3].startswith("modalities  CT") and lines[4] == f"errors      {errors}"
    assert lines[5].startswith(f"wrote {out} in")
    assert sorted(os.listdir(tmp_path)) == ["index.parquet"]  # no journal, no temp file
    assert main(["index", str(tmp_path / "missing"), "-o", str(out)]) == 1
    assert pq.read_table(out).equals(table)  # a failed run leaves the index as it was


def test_duckdb_queries_of_the_readme(archive, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "index.parquet"
    bulk.index(archive, out, workers=2)
    readme = (ROOT / "README.md").read_text()
    sql = readme.split("```sql\n", 1)[1].split("```", 1)[0].replace("index.parquet", str(out))
    by_modality, series = [duckdb.sql(query).fetchall() for query in sql.split(";")
                           if "SELECT" in query]
    assert by_modality == [("CT", 4)]
    assert len(series) == 12 and {row[-1] for row in series} == {2}


def copy_files(folder: Path, count: int) -> list:
    folder.mkdir()
    data = (TESTDATA / "valid" / "ct_explicit_le.dcm").read_bytes()
    for i in range(count):
        (folder / f"{i:05d}.dcm").write_bytes(data)
    return sorted(str(p) for p in folder.iterdir())


def index_until_parts(archive: Path, out: Path, parts: Path, workers: int
                      ) -> subprocess.Popen:
    """`fastdcm index` of `archive` started, and left running once it wrote 3 parts."""
    run = subprocess.Popen([sys.executable, "-m", "fastdcm", "index", str(archive),
                            "-o", str(out), "--workers", str(workers),
                            "--row-group-rows", "100"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list(parts.glob("part-*.parquet"))) < 3:
        assert run.poll() is None and time.monotonic() < deadline, "the run ended too soon"
        time.sleep(0.001)
    return run


def test_resume_after_kill(tmp_path, monkeypatch):
    files = copy_files(tmp_path / "archive", 10000)
    out = tmp_path / "index.parquet"
    parts = tmp_path / ".index.parquet.parts"
    run = index_until_parts(tmp_path / "archive", out, parts, workers=1)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    assert not out.exists()
    done = sum(pq.read_metadata(p).num_rows for p in parts.glob("part-*.parquet"))
    assert 0 < done < len(files)
    # as a run killed while it writes the output leaves it
    (tmp_path / f".index.parquet.tmp-{run.pid}").write_bytes(b"PAR1")

    read = []
    chunk_reader = _bulk_read.read_chunk
    monkeypatch.setattr("fastdcm._bulk_run.read_chunk",
                        lambda plan, paths: read.extend(paths) or chunk_reader(plan, paths))
    bulk.index(tmp_path / "archive", out, workers=1, resume=True)
    paths = pq.read_table(out, columns=["path"])["path"].to_pylist()
    assert sorted(paths) == files  # one row per file: none lost, none twice
    assert len(read) == len(files) - done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive", "index.parquet"]


def test_ctrl_c_is_a_message_not_a_traceback(tmp_path):
    files = copy_files(tmp_path / "archive", 10000)
    out = tmp_path / "index.parquet"
    parts = tmp_path / ".index.parquet.parts"
    run = index_until_parts(tmp_path / "archive", out, parts, workers=2)
    os.kill(run.pid, signal.SIGINT)
    error = run.communicate(timeout=60)[1]
    assert run.returncode == 130 and "Traceback" not in error
    assert error.endswith("--resume` goes on from where it stopped\n")
    assert main(["index", str(tmp_path / "archive"), "-o", str(out), "--resume"]) == 0
    assert sorted(pq.read_table(out, columns=["path"])["path"].to_pylist()) == files


def test_a_worker_killed_is_a_message_and_resumes(tmp_path):
    """As the kernel's out-of-memory killer would end a worker: one line, not a traceback."""
    files = copy_files(tmp_path / "archive", 10000)
    out = tmp_path / "index.parquet"
    run = index_until_parts(tmp_path / "archive", out, tmp_path / ".index.parquet.parts",
                            workers=2)
    with open(f"/proc/{run.pid}/task/{run.pid}/children") as children:
        os.kill(int(children.read().split()[0]), signal.SIGKILL)
    error = run.communicate(timeout=60)[1]
    assert run.returncode == 1 and error == (
        f"fastdcm: a bulk worker process died (out of memory?): `fastdcm index ... -o {out} "
        "--resume` goes on from where it stopped\n")
    assert main(["index", str(tmp_path / "archive"), "-o", str(out), "--resume"]) == 0
    assert sorted(pq.read_table(out, columns=["path"])["path"].to_pylist()) == files


def test_update(tmp_path, monkeypatch):
    folder = tmp_path / "archive"
    copy_files(folder, 4)
    out = tmp_path / "index.parquet"
    bulk.index(folder, out, workers=1)
    before = {r["path"]: r for r in pq.read_table(out).to_pylist()}

    valid = TESTDATA / "valid"
    changed = folder / "00000.dcm"
    changed.write_bytes((valid / "ct_implicit_le.dcm").read_bytes())
    (folder / "00001.dcm").unlink()
    shutil.copy(valid / "ct_deflated.dcm", folder / "new.dcm")
    # Same size and mtime as indexed: taken as unchanged, so its row must not be read again.
    same = folder / "00002.dcm"
    stat = same.stat()
    same.write_bytes((valid / "ct_explicit_be.dcm").read_bytes())
    os.utime(same, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert main(["index", str(folder), "-o", str(out), "--update"]) == 0
    after = {r["path"]: r for r in pq.read_table(out).to_pylist()}
    assert sorted(after) == sorted(str(p) for p in folder.iterdir())
    assert after[str(changed)]["transfer_syntax_uid"] == "1.2.840.10008.1.2"
    assert after[str(same)] == before[str(same)]
    assert after[str(folder / "00003.dcm")] == before[str(folder / "00003.dcm")]
    assert after[str(folder / "new.dcm")]["error"] is None

    with pytest.raises(ValueError, match="other columns"):
        bulk.index(folder, out, tags=["PatientID"], resume=True)


def plain_listing(top: str, exclude=frozenset()) -> list:
    """What discover should find under `top`, the slow and obvious way: a folder that
    cannot be listed, and a link that cannot be followed but does not lead nowhere, stand
    for themselves (their rows hold the error)."""
    try:
        names = sorted(os.listdir(top))
    except OSError:
        return [top]
    found = []
    for name in names:
        path = os.path.join(top, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            found += plain_listing(path, exclude)
        elif unfollowable_link(path):
            found.append(path)
        elif os.path.isfile(path):
            st = os.stat(path)
            if (st.st_dev, st.st_ino) not in exclude:
                found.append(path)
    return found


def unfollowable_link(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return os.path.islink(path) and exc.errno not in (errno.ENOENT, errno.ENOTDIR)
    return False


def odd_tree(top: Path) -> None:
    """Hidden entries, links, a pipe, empty and nested folders, and names that sort apart
    as bytes and as strings (undecodable bytes become surrogates) or share long starts."""
    for folder in ["sub/deeper", "empty", ".hidden_folder", "locked"]:
        (top / folder).mkdir(parents=True)
    for name in ["a", "ab", "B", "z", ".dot", "sub/f", "sub/deeper/g", ".hidden_folder/x",
                 "locked/l", "1.2.840.10008.1", "1.2.840.10008.10", "1.2.840.10008.2",
                 "é", "日本", "\ue000"]:
        (top / name).write_bytes(b"")
    raw = os.fsencode(top)
    for name in [b"\xff\xfe.dcm", b"caf\xe9", b"\xc3(", b"\xed\xa0\x80", b"\xf5x"]:
        open(os.path.join(raw, name), "wb").close()
    os.mkdir(os.path.join(raw, b"d\xff"))
    open(os.path.join(raw, b"d\xff", b"in"), "wb").close()
    (top / "link_to_file").symlink_to("a")
    (top / "link_to_folder").symlink_to("sub")
    (top / "dangling").symlink_to("nowhere")
    (top / "through_a_file").symlink_to("a/b")
    (top / "loop").symlink_to("loop")
    os.mkfifo(top / "pipe")
    (top / "locked").chmod(0)  # unreadable, unless the tests run as root


def test_discover_lists_as_a_plain_walk(tmp_path):
    from fastdcm._bulk_run import discover

    odd_tree(tmp_path)
    try:
        expected = plain_listing(str(tmp_path))
        assert str(tmp_path / "link_to_file") in expected
        assert str(tmp_path / "loop") in expected
        assert str(tmp_path / "dangling") not in expected
        assert str(tmp_path / "sub" / "deeper" / "g") in expected
        assert list(discover([tmp_path])) == expected
        assert list(discover([str(tmp_path) + "/"])) == plain_listing(str(tmp_path) + "/")
        assert list(discover([tmp_path / "a", tmp_path / "sub"])) == \
            [str(tmp_path / "a")] + plain_listing(str(tmp_path / "sub"))
        b, f = (os.stat(tmp_path / name) for name in ["B", "sub/f"])
        exclude = {(b.st_dev, b.st_ino), (f.st_dev, f.st_ino)}
        assert list(discover([tmp_path], exclude)) == plain_listing(str(tmp_path), exclude)
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_a_file_named_twice_is_one_row(tmp_path, monkeypatch):
    """Named again, or inside a folder named too, in any spelling: found once."""
    for name in ["a", "sub/b", "sub/deeper/c"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    every = plain_listing(str(tmp_path))
    for named in [[tmp_path, tmp_path], [tmp_path / "sub", tmp_path, f"{tmp_path}/./"],
                  [tmp_path / "a", tmp_path / "sub" / "deeper" / "c", tmp_path]]:
        found = list(_bulk_run.discover(named))
        assert sorted(found) == every and len(set(found)) == len(found), named
    assert list(_bulk_run.discover([tmp_path / "a", tmp_path / "a"])) == [every[0]]
    monkeypatch.chdir(tmp_path)
    assert list(_bulk_run.discover(["sub", f"{tmp_path}/sub/b", "sub/deeper"])) == \
        ["sub/b", "sub/deeper/c"]


def test_discover_sorts_many_names(tmp_path):
    """Enough names that share starts, and differ in their first 8 bytes after them or
    only later, for every pass of the sort."""
    from fastdcm._bulk_run import discover

    rng = random.Random(5)
    names = set()
    while len(names) < 600:
        stem = rng.choice([b"", b"1.2.840.113619.2.", b"IM-0001-", b"\xc3", b"\xe6\x97\xa5"])
        names.add(stem + bytes(rng.choice(b"0123456789._-aZ\xa9\xff")
                               for _ in range(rng.randint(1, 20))))
    for name in names:
        if not name.startswith(b"."):
            open(os.path.join(os.fsencode(tmp_path), name), "wb").close()
    assert list(discover([tmp_path])) == plain_listing(str(tmp_path))
    uid = b"1.2.840.113619.2."
    for folder, wanted in [("ascii", lambda name: name.isascii() and name[:1] != b"."),
                           ("uids", lambda name: name.startswith(uid) and name.isascii())]:
        (tmp_path / folder).mkdir()
        for name in filter(wanted, names | {uid[:-1], uid + b"1", uid + b"1" * 30}):
            (tmp_path / folder / name.decode()).write_bytes(b"")
        assert list(discover([tmp_path / folder])) == plain_listing(str(tmp_path / folder))


def test_discover_goes_deeper_than_the_recursion_limit(tmp_path):
    """400 levels under a limit of 250 frames: a real tree as deep as the default limit
    would be one that shutil.rmtree (which cleans tmp_path up) cannot remove."""
    folders = [tmp_path / "d"]
    for _ in range(400):
        folders[-1].mkdir()
        (folders[-1] / "f").write_bytes(b"")
        folders.append(folders[-1] / "d")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)
    try:
        found = list(_bulk_run.discover([tmp_path]))
    finally:
        sys.setrecursionlimit(limit)
    # "d" sorts before "f": each folder's file comes after the files under it
    assert found == [str(folder / "f") for folder in reversed(folders[:-1])]


def test_list_folder_kinds_and_errors(tmp_path):
    from fastdcm._listing import FILE, FILE_OF_INODE, FOLDER, list_folder

    (tmp_path / "sub").mkdir()
    (tmp_path / "x").write_bytes(b"")
    (tmp_path / "y").write_bytes(b"")
    inode = os.stat(tmp_path / "y").st_ino
    assert list_folder(str(tmp_path), {inode}) == (
        [str(tmp_path / name) for name in ["sub", "x", "y"]],
        bytes([FOLDER, FILE, FILE_OF_INODE]))
    assert list_folder(str(tmp_path / "sub")) == ([], b"")
    with pytest.raises(FileNotFoundError):
        list_folder(str(tmp_path / "missing"))
    with pytest.raises(NotADirectoryError):
        list_folder(str(tmp_path / "x"))
    (tmp_path / "sub" / "loop").symlink_to("loop")  # fails DirEntry.is_file()
    (tmp_path / "sub" / "dangling").symlink_to("nowhere")
    assert list_folder(str(tmp_path / "sub")) == ([str(tmp_path / "sub" / "loop")],
                                                  bytes([FILE]))
