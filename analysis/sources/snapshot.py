"""Metrics snapshot: a Parquet long table, one row per datapoint (README "Metrics snapshot format").

Columns: region, namespace, metric_name, dimensions (JSON object, sorted keys, compact),
stat, period (int64 seconds), timestamp (timestamp[ms, UTC]: Parquet has no seconds unit),
value (float64), and `account` (string) when the snapshot spans several AWS accounts.

Resource-major: `SnapshotWriter` writes batches of resources, each resource's rows contiguous
and sorted by (namespace, metric_name, dimensions, stat, period, timestamp), in row groups of
at most ROW_GROUP_ROWS rows, with a per-resource row-range index in the footer metadata
(INDEX_KEY). A reader then holds one resource's row groups at a time. Files without the index
(other tools, or series written without their resource) are read whole: the slower path. A
directory of Parquet files (hive-style `key=value` folders supply missing columns) is read like
one snapshot. The same input always gives a byte-identical file. pyarrow is imported lazily.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.fsutil import atomic_output
from analysis.model import MetricQuery, Series

KEY_COLUMNS = ("region", "namespace", "metric_name", "dimensions", "stat", "period")
STRING_KEYS = KEY_COLUMNS[:5]
COLUMNS = KEY_COLUMNS + ("timestamp", "value")
ACCOUNT = "account"  # optional column: absent (or "") in a single-account snapshot
INDEX_KEY = "rightsize.index"  # footer metadata: JSON [[resource key, first row, stop row], ...]
ROW_GROUP_ROWS = 1 << 20  # pyarrow's default; bounds what a reader decodes at once (~40 MiB)
CACHED_ROW_GROUPS = 4  # decoded row groups kept while reading consecutive resources

SeriesKey = tuple[str, str, str, str, str, str, int]  # account, region, namespace, metric, dims, stat, period


def schema(accounts: bool = False):
    import pyarrow as pa

    fields = [
        ("region", pa.string()),
        ("namespace", pa.string()),
        ("metric_name", pa.string()),
        ("dimensions", pa.string()),
        ("stat", pa.string()),
        ("period", pa.int64()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("value", pa.float64()),
    ]
    return pa.schema(fields + ([(ACCOUNT, pa.string())] if accounts else []))


def series_key(s: Series) -> SeriesKey:
    q = s.query
    return (s.account, s.region, q.namespace, q.metric_name, q.dimensions_json, q.stat, q.period)


def _table(groups: Sequence[tuple[str, Sequence[Series]]], accounts: bool):
    """One batch as an Arrow table: groups in the given order, each group's series sorted."""
    import pyarrow as pa

    ordered = [s for _, ss in groups for s in sorted((s for s in ss if len(s.timestamps)), key=series_key)]
    counts = np.array([len(s.timestamps) for s in ordered], dtype=np.int64)
    ts = np.concatenate([np.asarray(s.timestamps, np.int64) for s in ordered]) if ordered else np.zeros(0, np.int64)
    values = np.concatenate([np.asarray(s.values, np.float64) for s in ordered]) if ordered else np.zeros(0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if ordered else np.zeros(0, np.int64)
    for s, a in zip(ordered, starts):  # within a series: by time
        seg = slice(a, a + len(s.timestamps))
        if np.any(ts[seg][1:] < ts[seg][:-1]):
            order = np.argsort(ts[seg], kind="stable")
            ts[seg], values[seg] = ts[seg][order], values[seg][order]
    keys = [series_key(s) for s in ordered]

    def column(i: int):
        # one string per series, stored once: row -> series code (no per-row string copies)
        uniques, codes = (
            np.unique(np.array([k[i] for k in keys], dtype=object), return_inverse=True)
            if keys
            else (np.array([], dtype=object), np.zeros(0, np.int64))
        )
        return pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(codes.astype(np.int32), counts)), pa.array(uniques.tolist(), pa.string())
        )

    arrays = [column(i) for i in range(1, 6)]
    arrays += [
        pa.array(np.repeat(np.array([k[6] for k in keys], dtype=np.int64), counts)),
        pa.array(ts * 1000, type=pa.timestamp("ms", tz="UTC")),
        pa.array(values, type=pa.float64()),
    ]
    if accounts:
        arrays.append(column(0))
    return pa.Table.from_arrays(arrays, schema=_dictionary_schema(accounts))


def _dictionary_schema(accounts: bool):
    import pyarrow as pa

    string_columns = set(STRING_KEYS) | {ACCOUNT}
    return pa.schema(
        [
            pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in string_columns else f
            for f in schema(accounts)
        ]
    )


class SnapshotWriter:
    """Write a snapshot batch by batch into one file (atomically, on a clean exit).

        with SnapshotWriter(path, metadata) as w:
            w.write([(resource_key, series), ...])   # one batch; call again for the next

    Peak memory is one batch. Give resources in a stable order (the collector sorts them) and the
    file is byte-identical run after run. A group named "" (series without their resource) is
    written but not indexed.
    """

    def __init__(
        self,
        path: str | Path,
        metadata: Mapping[str, Any] | None = None,
        *,
        accounts: bool = False,
        row_group_rows: int = ROW_GROUP_ROWS,  # rows per Parquet row group at most
    ):
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows must be >= 1, got {row_group_rows}")
        self.path = Path(path)
        self.metadata = {k: str(v) for k, v in (metadata or {}).items()}
        self.accounts = accounts
        self.row_group_rows = row_group_rows
        self.rows = 0
        self.index: list[tuple[str, int, int]] = []
        self._stack = ExitStack()
        self._writer: Any = None

    def __enter__(self) -> SnapshotWriter:
        import pyarrow.parquet as pq

        tmp = self._stack.enter_context(atomic_output(self.path))
        # store_schema=False: readers see plain Parquet strings, as the format documents
        self._writer = pq.ParquetWriter(
            tmp,
            _dictionary_schema(self.accounts),
            compression="zstd",
            use_dictionary=list(KEY_COLUMNS) + ([ACCOUNT] if self.accounts else []),
            store_schema=False,
        )
        return self

    def write(self, groups: Iterable[tuple[str, Iterable[Series]]]) -> int:
        """Append one batch (resource key, its series); returns the rows written."""
        batch = [(key, list(series)) for key, series in groups]
        table = _table(batch, self.accounts)
        row = self.rows
        for key, series in batch:
            n = sum(len(s.timestamps) for s in series)
            if key and n:
                self.index.append((key, row, row + n))
            row += n
        if table.num_rows:
            self._writer.write_table(table, row_group_size=self.row_group_rows)
        self.rows += table.num_rows
        return table.num_rows

    def append_file(self, path: str | Path) -> int:
        """Copy a snapshot written by a SnapshotWriter (a collection part) row group by row group,
        its index shifted to the rows already written; returns the rows copied."""
        import pyarrow.parquet as pq

        part = pq.ParquetFile(path, read_dictionary=list(STRING_KEYS) + ([ACCOUNT] if self.accounts else []))
        kv = part.metadata.metadata or {}
        for key, a, b in json.loads(kv.get(INDEX_KEY.encode(), b"[]")):
            self.index.append((key, self.rows + a, self.rows + b))
        n = 0
        for rg in range(part.metadata.num_row_groups):
            table = part.read_row_group(rg).cast(_dictionary_schema(self.accounts))
            self._writer.write_table(table, row_group_size=self.row_group_rows)
            n += table.num_rows
        self.rows += n
        return n

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[0] is None:
                meta = dict(self.metadata)
                if self.index:
                    meta[INDEX_KEY] = json.dumps(self.index, separators=(",", ":"))
                if meta:
                    self._writer.add_key_value_metadata(dict(sorted(meta.items())))
            self._writer.close()
        finally:
            self._stack.__exit__(*exc)


def write_snapshot(path: str | Path, series: Iterable[Series], metadata: Mapping[str, Any] | None = None) -> int:
    """Write series (empty ones add no rows) atomically, ordered by series key, without a resource
    index (analysis.scale.batches.write_by_resource writes the indexed, resource-major file);
    returns the number of rows."""
    items = list(series)
    with SnapshotWriter(path, metadata, accounts=any(s.account for s in items)) as w:
        return w.write([("", items)])


# --- reading ---------------------------------------------------------------------------


def _normalise_dimensions(text: str) -> str:
    """Producers other than `collect` may write keys in any order or with spaces."""
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def _partition_values(path: Path, root: Path) -> dict[str, str]:
    """`root/account=1/region=us-east-1/x.parquet` -> {"account": "1", "region": "us-east-1"}."""
    out = {}
    for part in path.relative_to(root).parts[:-1]:
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out


@dataclass
class _Part:
    """One Parquet file of a snapshot."""

    path: Path
    constants: dict[str, str]  # columns the folder names supply (hive partitions)
    metadata: dict[str, str]
    index: dict[str, tuple[int, int]] | None  # resource key -> rows; None: not resource-major
    columns: frozenset[str] = frozenset()
    row_group_starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))


class SnapshotSource:
    """MetricsSource over a Parquet snapshot (a file or a directory of files)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._parts: list[_Part] | None = None
        self._index: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] | None = None
        self._row_groups: dict[tuple[int, int], Any] = {}

    # -- files and metadata

    def _error(self, path: Path, what: str):
        from analysis.errors import AnalysisError

        return AnalysisError(f"{path}: {what}")

    def parts(self) -> list[_Part]:
        if self._parts is not None:
            return self._parts
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.path.is_dir():
            files = sorted(p for p in self.path.rglob("*.parquet") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise self._error(self.path, "no Parquet file in this snapshot directory")
        else:
            files = [self.path]
        parts = []
        for f in files:
            try:
                meta = pq.read_metadata(f)
            except (OSError, pa.ArrowInvalid) as e:
                raise self._error(f, f"cannot read metrics snapshot ({e})") from None
            kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items() if not k.startswith(b"ARROW")}
            index = None
            if INDEX_KEY in kv:
                try:
                    index = {str(k): (int(a), int(b)) for k, a, b in json.loads(kv.pop(INDEX_KEY))}
                except (ValueError, TypeError) as e:
                    raise self._error(f, f"bad resource index in the metadata ({e})") from None
            starts = np.cumsum([0] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
            constants = _partition_values(f, self.path) if self.path.is_dir() else {}
            part = _Part(f, constants, kv, index, frozenset(meta.schema.names), starts)
            names = part.columns | set(constants)
            missing = [c for c in COLUMNS if c not in names]
            if missing:
                raise self._error(f, f"metrics snapshot lacks column(s) {', '.join(missing)}")
            parts.append(part)
        self._parts = parts
        return parts

    @property
    def metadata(self) -> dict[str, str]:
        """Key-value metadata of the snapshot (of its first file, for a directory)."""
        return dict(self.parts()[0].metadata)

    def declared_window(self) -> tuple[int, int] | None:
        """[window_start, window_end) the writer declared (every file's, merged), None if any lacks it."""
        windows = []
        for p in self.parts():
            try:
                windows.append((int(p.metadata["window_start"]), int(p.metadata["window_end"])))
            except (KeyError, ValueError):
                return None
        return min(w[0] for w in windows), max(w[1] for w in windows)

    def window_end(self, now: int, period: int = 300) -> int:
        """Where an analysis of this snapshot ends: the declared window's end, else just after the
        last datapoint. Never later than the clock: a window or datapoint dated after `now` is
        bad data (its series is rejected), and must not move the window."""
        declared = self.declared_window()
        if declared is not None and declared[1] <= now:
            return declared[1]
        last = self.time_range(now=now)[1]
        if last is None:
            raise self._error(self.path, "metrics snapshot holds no datapoints up to now")
        return last - last % period + period

    def time_range(self, now: int | None = None) -> tuple[int | None, int | None]:
        """First and last datapoint (epoch seconds), None for an empty snapshot.

        With `now`, datapoints after it are ignored (they are rejected as series anyway). Reads
        the timestamp column only, a row group at a time."""
        lo: int | None = None
        hi: int | None = None
        for p in self.parts():
            pf = self._open(p)
            for rg in range(pf.metadata.num_row_groups):
                ts = _epoch_seconds(pf.read_row_group(rg, columns=["timestamp"])["timestamp"])
                if now is not None:
                    ts = ts[ts <= now]
                if len(ts):
                    lo = int(ts.min()) if lo is None else min(lo, int(ts.min()))
                    hi = int(ts.max()) if hi is None else max(hi, int(ts.max()))
        return lo, hi

    def _open(self, part: _Part):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            dictionary = [c for c in STRING_KEYS + (ACCOUNT,) if c in part.columns]
            return pq.ParquetFile(part.path, read_dictionary=dictionary)
        except (OSError, pa.ArrowInvalid) as e:
            raise self._error(part.path, f"cannot read metrics snapshot ({e})") from None

    def _decode(self, part: _Part, table) -> dict[SeriesKey, tuple[np.ndarray, np.ndarray]]:
        import pyarrow as pa

        try:
            return _decode(table, part.constants)
        except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise self._error(part.path, f"bad metrics snapshot column ({e})") from None
        except ValueError as e:
            raise self._error(part.path, str(e)) from None

    # -- whole-snapshot path (files without a resource index, and `fetch` by query)

    def _load(self) -> dict[SeriesKey, tuple[np.ndarray, np.ndarray]]:
        if self._index is not None:
            return self._index
        import pyarrow as pa

        merged: dict[SeriesKey, list[tuple[np.ndarray, np.ndarray]]] = {}
        for p in self.parts():
            try:
                table = self._open(p).read().unify_dictionaries()
            except (OSError, pa.ArrowInvalid) as e:
                raise self._error(p.path, f"cannot read metrics snapshot ({e})") from None
            for k, v in self._decode(p, table).items():
                merged.setdefault(k, []).append(v)
        self._index = {k: v[0] if len(v) == 1 else _merge(v) for k, v in merged.items()}
        return self._index

    def series_keys(self) -> list[tuple]:
        """(region, namespace, metric_name, dimensions, stat, period) of every stored series
        (prefixed by the account in a multi-account snapshot)."""
        keys = sorted(self._load())
        return [k if k[0] else k[1:] for k in keys]

    def fetch(
        self, region: str, queries: Sequence[MetricQuery], start: int, end: int, account: str = ""
    ) -> dict[MetricQuery, Series]:
        return _slice(self._load(), account, region, queries, start, end)

    # -- resource-major path

    def indexed(self, key: str) -> bool:
        """Whether a resource's rows can be read alone (resource-major file with it in the index)."""
        return any(p.index is not None and key in p.index for p in self.parts())

    def fetch_resource(
        self, key: str, region: str, queries: Sequence[MetricQuery], start: int, end: int, account: str = ""
    ) -> dict[MetricQuery, Series]:
        """One resource's series, reading only its row groups when the snapshot is indexed."""
        found = [(i, p) for i, p in enumerate(self.parts()) if p.index is not None and key in p.index]
        if not found and all(p.index is not None for p in self.parts()):
            return _slice({}, account, region, queries, start, end)
        if not found:
            return self.fetch(region, queries, start, end, account)
        merged: dict[SeriesKey, list[tuple[np.ndarray, np.ndarray]]] = {}
        for i, p in found:
            a, b = p.index[key]  # type: ignore[index]
            for k, v in self._decode(p, self._rows(i, p, a, b)).items():
                merged.setdefault(k, []).append(v)
        index = {k: v[0] if len(v) == 1 else _merge(v) for k, v in merged.items()}
        return _slice(index, account, region, queries, start, end, copy=False)

    def _rows(self, i: int, part: _Part, a: int, b: int):
        """Rows [a, b) of a part, from its (cached) decoded row groups."""
        import pyarrow as pa

        starts = part.row_group_starts
        first = int(np.searchsorted(starts, a, "right")) - 1
        last = int(np.searchsorted(starts, b, "left")) - 1
        pieces = []
        for rg in range(first, last + 1):
            if (i, rg) not in self._row_groups:
                if len(self._row_groups) >= CACHED_ROW_GROUPS:
                    self._row_groups.pop(next(iter(self._row_groups)))
                try:
                    self._row_groups[(i, rg)] = self._open(part).read_row_group(rg)
                except (OSError, pa.ArrowInvalid) as e:
                    raise self._error(part.path, f"cannot read metrics snapshot ({e})") from None
            t = self._row_groups[(i, rg)]
            lo, hi = max(a, int(starts[rg])) - int(starts[rg]), min(b, int(starts[rg + 1])) - int(starts[rg])
            pieces.append(t.slice(lo, hi - lo))
        return pa.concat_tables(pieces).unify_dictionaries() if len(pieces) > 1 else pieces[0]

    def drop_cache(self) -> None:
        """Forget decoded row groups (between batches)."""
        self._row_groups.clear()


def _array(col):
    """One contiguous Arrow array of a (possibly chunked) column, without a copy when it is one chunk."""
    import pyarrow as pa

    if not isinstance(col, pa.ChunkedArray):
        return col
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _epoch_seconds(col) -> np.ndarray:
    import pyarrow as pa

    if not pa.types.is_timestamp(col.type):
        raise TypeError(f"timestamp column is {col.type}, expected a timestamp")
    # the stored integers count units since the epoch, UTC (naive ones are UTC by the format's definition)
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[col.type.unit]
    raw = _array(col).view(pa.int64()).to_numpy(zero_copy_only=False)
    return raw // per_second if per_second > 1 else raw


def _decode(table, constants: Mapping[str, str]) -> dict[SeriesKey, tuple[np.ndarray, np.ndarray]]:
    """Rows -> {series key: (timestamps, values)}, each series sorted by time (file order kept on ties)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    if not n:
        return {}
    ts = _epoch_seconds(table["timestamp"])
    values = _array(pc.cast(table["value"], pa.float64())).to_numpy(zero_copy_only=False)
    names = [c for c in (ACCOUNT,) + KEY_COLUMNS if c in table.column_names]
    fixed: dict[str, Any] = {  # a hive folder's value, or "" for the optional account column
        c: (int(constants.get(c, 0)) if c == "period" else constants.get(c, ""))
        for c in (ACCOUNT,) + KEY_COLUMNS
        if c not in names
    }
    codes: list[np.ndarray] = []
    uniques: list[list[Any] | None] = []
    for name in names:
        col = _array(table[name])
        if name == "period":  # numbers: the value is its own code
            codes.append(_array(pc.cast(col, pa.int64())).to_numpy(zero_copy_only=False))
            uniques.append(None)
            continue
        enc = col if pa.types.is_dictionary(col.type) else col.dictionary_encode()
        codes.append(enc.indices.to_numpy(zero_copy_only=False))
        uniques.append(enc.dictionary.to_pylist())
    out: dict[SeriesKey, list[tuple[np.ndarray, np.ndarray]]] = {}
    bounds = _runs(codes, n)
    starts = [tuple(int(c[a]) for c in codes) for a in bounds[:-1]]
    if len(set(starts)) < len(starts):  # a series in several runs (rows in any order): group them
        order = np.lexsort(tuple(reversed(codes)))  # stable: file order kept within a series
        codes = [c[order] for c in codes]
        ts, values = ts[order], values[order]
        bounds = _runs(codes, n)
        starts = [tuple(int(c[a]) for c in codes) for a in bounds[:-1]]
    for a, b, row in zip(bounds[:-1], bounds[1:], starts):
        found = {name: (code if u is None else u[code]) for name, u, code in zip(names, uniques, row)}
        key: list[Any] = [found[c] if c in found else fixed[c] for c in (ACCOUNT,) + KEY_COLUMNS]
        key[0] = key[0] or ""
        try:
            key[4] = _normalise_dimensions(key[4])
        except (json.JSONDecodeError, TypeError):
            raise ValueError(f"dimensions {key[4]!r} is not a JSON object") from None
        t, v = ts[a:b], values[a:b]
        if np.any(t[1:] < t[:-1]):
            order_t = np.argsort(t, kind="stable")
            t, v = t[order_t], v[order_t]
        out.setdefault(tuple(key), []).append((t, v))
    return {k: parts[0] if len(parts) == 1 else _merge(parts) for k, parts in out.items()}


def _runs(codes: list[np.ndarray], n: int) -> np.ndarray:
    """Row offsets where the key changes: [0, ..., n]."""
    change = np.zeros(max(n - 1, 0), bool)
    for c in codes:
        change |= c[1:] != c[:-1]
    return np.concatenate([[0], np.flatnonzero(change) + 1, [n]])


def _slice(
    index: Mapping[SeriesKey, tuple[np.ndarray, np.ndarray]],
    account: str,
    region: str,
    queries: Sequence[MetricQuery],
    start: int,
    end: int,
    copy: bool = True,  # False where the index is the caller's alone (views of it are safe)
) -> dict[MetricQuery, Series]:
    out = {}
    empty = (np.zeros(0, np.int64), np.zeros(0))
    for q in queries:
        ts, vals = index.get((account, region, q.namespace, q.metric_name, q.dimensions_json, q.stat, q.period), empty)
        lo, hi = np.searchsorted(ts, start, "left"), np.searchsorted(ts, end, "left")
        t, v = ts[lo:hi], vals[lo:hi]
        out[q] = Series(region, q, t.copy() if copy else t, v.copy() if copy else v, account)
    return out


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Series whose dimensions were spelt differently in the file (key order, spaces), or split
    across files."""
    t = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    order = np.argsort(t, kind="stable")
    return t[order], v[order]
