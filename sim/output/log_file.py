"""Chat logs and duty files written atomically: CSV in a chosen encoding, or Parquet."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from sim.output.files import atomic_write_bytes, write_parquet

PARQUET_SUFFIXES = (".parquet", ".pq")


class LogWriteError(ValueError):
    """A log that cannot be written as asked (e.g. a name the encoding cannot hold)."""


def csv_bytes(frame: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    """The frame as CSV text in `encoding`: values quoted only when some value needs it."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    needs_quotes = any(
        pc.any(pc.match_substring_regex(pc.cast(column, pa.string()), r'[",\r\n]')).as_py()
        for column in table.columns if len(column))
    buffer = io.BytesIO()
    # The header is written here: pyarrow quotes its names whatever the quoting style.
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)
    buffer.write(header.getvalue().encode("utf-8"))
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(
        include_header=False, quoting_style="needed" if needs_quotes else "none"))
    data = buffer.getvalue()
    if codecs.lookup(encoding).name == "utf-8":
        return data
    try:
        return data.decode("utf-8").encode(encoding)
    except UnicodeEncodeError as exc:
        raise LogWriteError(f"{exc.object[exc.start:exc.end]!r} cannot be written in "
                            f"{encoding}; choose another --encoding (e.g. utf-8 or gb18030)"
                            ) from None


def write_log_file(path: Path, frame: pd.DataFrame, encoding: str = "utf-8") -> None:
    """Write a log (or duty) frame to `path`: Parquet by its suffix, CSV otherwise."""
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        write_parquet(path, frame)
    else:
        atomic_write_bytes(path, csv_bytes(frame, encoding))


def duty_path(log_path: Path) -> Path:
    """Where a log's duty file goes: `shop.csv` -> `shop.duty.csv`."""
    log_path = Path(log_path)
    return log_path.with_name(f"{log_path.stem}.duty{log_path.suffix}")
