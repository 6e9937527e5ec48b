"""Read tables (ARFF, CSV, Parquet; optionally gzipped) into typed pandas DataFrames.

Nominal ARFF attributes become ``category`` columns with their declared levels, ``?`` becomes
missing. Every problem raises :class:`~kg.errors.InvalidData` naming the file, the line or
column, what is wrong and how to fix it.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metakg.kg.errors import InvalidData

__all__ = ["SUPPORTED_SUFFIXES", "column_kind", "infer_task_type", "read_table"]

SUPPORTED_SUFFIXES = (".arff", ".csv", ".parquet", ".pq", ".tsv")


def _suffix(path: Path) -> tuple[str, bool]:
    gz = path.suffix.lower() == ".gz"
    return (Path(path.stem).suffix if gz else path.suffix).lower(), gz


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table from an ARFF, CSV/TSV or Parquet file (``.gz`` allowed for text formats).

    Args:
        path: the file.

    Returns:
        A DataFrame with typed columns (numeric, ``category``, string, datetime).

    Raises:
        InvalidData: the file is missing, empty, of an unknown format or malformed.
    """
    p = Path(path)
    if not p.exists():
        raise InvalidData(f"{p}: file not found.")
    if p.is_dir():
        raise InvalidData(f"{p}: is a directory, not a table file.")
    suffix, gz = _suffix(p)
    if suffix not in SUPPORTED_SUFFIXES:
        raise InvalidData(
            f"{p.name}: unknown table format {suffix or '(no suffix)'!r}; use .arff, .csv, .tsv "
            "or .parquet (text formats may end in .gz)."
        )
    raw = p.read_bytes()
    if gz:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InvalidData(f"{p.name}: not a valid gzip file ({exc}).") from None
    if not raw.strip():
        raise InvalidData(f"{p.name}: the file is empty; expected a table with a header.")
    _check_content_matches(p.name, raw, suffix)
    if suffix in (".parquet", ".pq"):
        df = _read_parquet(p, raw)
    elif suffix == ".arff":
        df = _read_arff(p.name, raw.decode("utf-8", errors="replace"))
    else:
        df = _read_csv(p.name, raw, sep="\t" if suffix == ".tsv" else ",")
    if df.shape[0] == 0:
        raise InvalidData(f"{p.name}: the table has a header but no data rows.")
    if df.shape[1] == 0:
        raise InvalidData(f"{p.name}: the table has no columns.")
    return df


def _content_kind(raw: bytes) -> str | None:
    """What the bytes look like, when a file's suffix may say otherwise."""
    if raw[:2] == b"\x1f\x8b":
        return "gzip-compressed"
    if raw[:4] == b"PAR1" and raw[-4:] == b"PAR1":  # Parquet begins and ends with its magic
        return "Parquet"
    for line in raw[:1 << 16].splitlines():  # the first line that is no ARFF comment
        text = line.strip().lower()
        if text and not text.startswith(b"%"):
            return "ARFF" if re.match(rb"@relation\s", text + b" ") else None
    return None


def _check_content_matches(name: str, raw: bytes, suffix: str) -> None:
    """Refuse a file whose content is another format than its suffix says, naming both (a
    parser's own error, several lines in, does not say so)."""
    kind = _content_kind(raw)
    expected = {".parquet": "Parquet", ".pq": "Parquet", ".arff": "ARFF"}.get(suffix)
    if kind is None or kind == expected:
        return
    if kind == "gzip-compressed" and name.endswith(".gz"):
        raise InvalidData(f"{name}: compressed twice (gzip inside gzip); decompress it once "
                          f"(gunzip {name}) and read the result.")
    fix = {"gzip-compressed": f"add .gz to its name ({name}.gz)",
           "Parquet": "name it .parquet", "ARFF": "name it .arff"}[kind]
    article = "an" if kind[0] in "AEIOU" else "a"
    raise InvalidData(f"{name}: this looks like {article} {kind} file, not {suffix}; {fix}.")


def _read_parquet(p: Path, raw: bytes) -> pd.DataFrame:
    try:
        df = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises many types
        raise InvalidData(f"{p.name}: not a readable Parquet file ({exc}).") from None
    return _normalise_strings(df)


def _check_csv_shape(name: str, raw: bytes, sep: str) -> str:
    """Say where a delimited file is malformed, before pandas fills the gaps: a byte that is
    not UTF-8, header names given twice, a row with fewer or more fields than the header.

    Returns:
        The file's text (decoded once, for pandas to read).

    Raises:
        InvalidData: the first problem, as ``name:line: what; how to fix``.
    """
    import csv

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidData(f"{name}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save "
                          "the file as UTF-8.") from None
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text)))  # a long text cell is a field, not an error
    try:
        _check_csv_rows(name, csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True),
                        sep)
    except csv.Error as exc:
        raise InvalidData(f"{name}: not a readable CSV ({exc}).") from None
    finally:
        csv.field_size_limit(limit)
    return text


def _check_csv_rows(name: str, reader: Any, sep: str) -> None:
    """:func:`_check_csv_shape`'s checks of the header and the rows."""
    header = next(reader, [])
    names = [h.strip() for h in header]
    twice = sorted({h for h in names if h and names.count(h) > 1})
    if twice:
        raise InvalidData(f"{name}:1: column name(s) {', '.join(map(repr, twice))} given more "
                          "than once; give every column its own name.")
    if len(header) == 1 and sep == "," and (";" in header[0] or "\t" in header[0]):
        other = "';'" if ";" in header[0] else "a tab"
        raise InvalidData(f"{name}:1: the header is one column ({header[0][:60]!r}); the "
                          f"separator looks like {other}, not ','. Save the table comma-separated "
                          "(or tab-separated as .tsv).")
    for row in reader:
        if row and any(field.strip() for field in row) and len(row) != len(header):
            raise InvalidData(
                f"{name}: line {reader.line_num} has {len(row)} fields, the header {len(header)}. "
                "Every row needs as many fields as the header; quote fields that contain the "
                "separator.")


def _read_csv(name: str, raw: bytes, sep: str) -> pd.DataFrame:
    text = _check_csv_shape(name, raw, sep)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, na_values=["?", ""], keep_default_na=True,
                         skipinitialspace=True)
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+), saw (\d+)", str(exc))
        where = f" line {m.group(1)} has {m.group(2)} fields" if m else ""
        raise InvalidData(
            f"{name}:{where or ' malformed CSV'} ({exc}). Every row needs as many fields as "
            "the header; quote fields that contain the separator."
        ) from None
    if any(str(c).startswith("Unnamed: ") for c in df.columns):
        bad = [i for i, c in enumerate(df.columns) if str(c).startswith("Unnamed: ")]
        raise InvalidData(
            f"{name}: header column(s) {', '.join(str(i + 1) for i in bad)} have no name; "
            "give every column a name in the first line."
        )
    return _normalise_strings(df)


def _normalise_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Low-cardinality text columns become categories; others stay strings."""
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            nunique = s.nunique(dropna=True)
            if nunique <= max(50, int(0.05 * len(s))):
                df[c] = s.astype("category")
            else:
                df[c] = s.astype("string")
    return df


_RANGE_TYPE = re.compile(r"^\s*@attribute\s+(\S+|'[^']*'|\"[^\"]*\")\s+(\w+\s*[\[(].*)$", re.I)


def _read_arff(name: str, text: str) -> pd.DataFrame:
    import arff  # liac-arff

    try:
        decoded = arff.loads(text)
    except arff.ArffException as exc:
        raise InvalidData(_explain_arff_error(name, text, exc)) from None
    return _arff_frame(decoded)


def _arff_frame(decoded: dict) -> pd.DataFrame:
    attrs = decoded["attributes"]
    data = decoded["data"]
    columns = {}
    for j, (col, kind) in enumerate(attrs):
        values = [row[j] for row in data]
        if isinstance(kind, list):
            # A level spelled '?' is missing too: some exports (OpenML's anneal) quote it.
            levels = [str(k) for k in kind if str(k) != "?"]
            cat = pd.Categorical([None if v is None or v == "?" else str(v) for v in values],
                                 categories=list(dict.fromkeys(levels)))
            columns[col] = cat
        elif kind.upper() in ("NUMERIC", "REAL", "INTEGER"):
            columns[col] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif kind.upper().startswith("DATE"):
            columns[col] = pd.to_datetime(pd.Series(values, dtype="object"), errors="coerce")
        else:
            columns[col] = pd.Series(values, dtype="string")
    return pd.DataFrame(columns)


def _explain_arff_error(name: str, text: str, exc: Exception) -> str:
    """Turn a liac-arff error into: file, line, what is wrong, how to fix it."""
    lines = text.splitlines()
    line_no = getattr(exc, "line", None)
    kind = type(exc).__name__
    line = lines[line_no - 1].strip() if line_no and 0 < line_no <= len(lines) else ""
    n_attrs = sum(1 for ln in lines if ln.strip().lower().startswith("@attribute"))
    if kind == "BadAttributeType":
        m = _RANGE_TYPE.match(line)
        what = (f"attribute type '{m.group(2).strip()}' (a range) is not ARFF" if m
                else f"unknown attribute type in '{line[:80]}'")
        return (f"{name}:{line_no}: {what}; use NUMERIC, INTEGER, REAL, STRING, DATE or a "
                "nominal list {a,b,c}.")
    if kind == "BadLayout" and line_no == 0:
        return f"{name}: no @RELATION/@ATTRIBUTE header found; is this an ARFF file?"
    if kind == "BadLayout" and line and "," not in line and len(line.split()) > 1:
        return (f"{name}:{line_no}: space-separated data rows ('{line[:60]}'); ARFF data rows "
                "separate values with commas.")
    if kind == "BadDataFormat" and line:
        found = len(line.split(","))
        hint = (" (the row ends with a comma, which adds an empty value: remove trailing commas)"
                if line.endswith(",") else "; fix or remove the row")
        return (f"{name}:{line_no}: a data row with the wrong number of values ({found} "
                f"values, the header declares {n_attrs} attributes){hint}.")
    return f"{name}:{line_no}: {kind}: {exc}"


def column_kind(series: pd.Series) -> str:
    """Schema type of a column: numeric, categorical, string, boolean or datetime."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if isinstance(series.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "string"


def infer_task_type(target: pd.Series) -> str:
    """Infer classification or regression from the target column.

    Text, categorical and boolean targets are classification. A numeric target with at most
    two distinct values (a 0/1 column) is taken as classification; other numeric targets as
    regression. Pass the task type explicitly to override.

    Args:
        target: the target column (missing values are ignored).

    Returns:
        ``"classification"`` or ``"regression"``.
    """
    kind = column_kind(target)
    if kind in ("categorical", "string", "boolean"):
        return "classification"
    values = target.dropna().unique()
    return "classification" if len(values) <= 2 else "regression"
