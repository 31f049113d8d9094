"""Metrics snapshot: a Parquet long table, one row per datapoint (README "Metrics snapshot format").

Columns: region, namespace, metric_name, dimensions (JSON object, sorted keys, compact),
stat, period (int64 seconds), timestamp (timestamp[ms, UTC]: Parquet has no seconds unit),
value (float64). Rows are
sorted by (region, namespace, metric_name, dimensions, stat, period, timestamp), so the
same series always give a byte-identical file. pyarrow is imported lazily.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from analysis.fsutil import atomic_output
from analysis.model import MetricQuery, Series

KEY_COLUMNS = ("region", "namespace", "metric_name", "dimensions", "stat", "period")
STRING_KEYS = KEY_COLUMNS[:5]
COLUMNS = KEY_COLUMNS + ("timestamp", "value")


def schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("region", pa.string()),
            ("namespace", pa.string()),
            ("metric_name", pa.string()),
            ("dimensions", pa.string()),
            ("stat", pa.string()),
            ("period", pa.int64()),
            ("timestamp", pa.timestamp("ms", tz="UTC")),
            ("value", pa.float64()),
        ]
    )


def series_key(s: Series) -> tuple:
    q = s.query
    return (s.region, q.namespace, q.metric_name, q.dimensions_json, q.stat, q.period)


def write_snapshot(path: str | Path, series: Iterable[Series], metadata: Mapping[str, str] | None = None) -> int:
    """Write series (empty ones add no rows) atomically; returns the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ordered = sorted((s for s in series if len(s.timestamps)), key=series_key)
    counts = np.array([len(s.timestamps) for s in ordered], dtype=np.int64)
    ts = (
        np.concatenate([np.asarray(s.timestamps, dtype=np.int64) for s in ordered])
        if ordered
        else np.zeros(0, np.int64)
    )
    values = np.concatenate([np.asarray(s.values, dtype=np.float64) for s in ordered]) if ordered else np.zeros(0)
    if ordered:  # within a series: by time, one row per timestamp
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        for s, a in zip(ordered, starts):
            seg = slice(a, a + len(s.timestamps))
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
            pa.array(np.repeat(codes, counts), pa.int32()), pa.array(uniques.tolist(), pa.string())
        )

    sch = schema()
    fields = [pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in STRING_KEYS else f for f in sch]
    table = pa.Table.from_arrays(
        [
            column(0),
            column(1),
            column(2),
            column(3),
            column(4),
            pa.array(np.repeat(np.array([k[5] for k in keys], dtype=np.int64), counts)),
            pa.array(ts * 1000, type=pa.timestamp("ms", tz="UTC")),
            pa.array(values, type=pa.float64()),
        ],
        schema=pa.schema(fields),
    )
    with atomic_output(path) as tmp:
        # store_schema=False: readers see plain Parquet strings, as the format documents
        with pq.ParquetWriter(
            tmp, table.schema, compression="zstd", use_dictionary=list(KEY_COLUMNS), store_schema=False
        ) as writer:
            writer.write_table(table)
            if metadata:
                writer.add_key_value_metadata({k: str(v) for k, v in sorted(metadata.items())})
    return table.num_rows


def _normalise_dimensions(text: str) -> str:
    """Producers other than `collect` may write keys in any order or with spaces."""
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


class SnapshotSource:
    """MetricsSource over a Parquet snapshot: the whole file is indexed once, by series."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._index: dict[tuple, tuple[np.ndarray, np.ndarray]] | None = None
        self.metadata: dict[str, str] = {}

    def _load(self) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
        if self._index is not None:
            return self._index
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from analysis.errors import AnalysisError

        try:
            # key columns come back dictionary-encoded: a code per row, each string once
            table = pq.read_table(self.path, read_dictionary=list(STRING_KEYS)).unify_dictionaries()
        except (OSError, pa.ArrowInvalid) as e:
            raise AnalysisError(f"{self.path}: cannot read metrics snapshot ({e})") from None
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise AnalysisError(f"{self.path}: metrics snapshot lacks column(s) {', '.join(missing)}")
        self.metadata = {
            k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items() if not k.startswith(b"ARROW")
        }
        try:
            ts_col = table["timestamp"]
            if not pa.types.is_timestamp(ts_col.type):
                raise TypeError(f"timestamp column is {ts_col.type}, expected a timestamp")
            if ts_col.type.tz is None:  # naive timestamps are UTC by the format's definition
                ts_col = pc.assume_timezone(ts_col, "UTC")
            ts = pc.cast(ts_col, pa.timestamp("s", tz="UTC")).to_numpy().astype("datetime64[s]").astype(np.int64)
            values = pc.cast(table["value"], pa.float64()).to_numpy(zero_copy_only=False)
            codes = []
            uniques = []
            for name in KEY_COLUMNS:
                col = table[name]
                if name == "period":
                    col = pc.cast(col, pa.int64())
                col = col.combine_chunks()
                enc = (col if pa.types.is_dictionary(col.type) else col.dictionary_encode()) if table.num_rows else None
                codes.append(enc.indices.to_numpy() if enc is not None else np.zeros(0, np.int64))
                uniques.append(enc.dictionary.to_pylist() if enc is not None else [])
        except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise AnalysisError(f"{self.path}: bad metrics snapshot column ({e})") from None
        index: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
        if table.num_rows:
            code_matrix = np.stack(codes, axis=1)
            order = np.lexsort(tuple(code_matrix[:, i] for i in reversed(range(code_matrix.shape[1]))))
            # keep file order within a series; sort by key only (lexsort is stable)
            code_matrix = code_matrix[order]
            ts, values = ts[order], values[order]
            change = np.any(code_matrix[1:] != code_matrix[:-1], axis=1)
            bounds = np.concatenate([[0], np.flatnonzero(change) + 1, [len(order)]])
            for a, b in zip(bounds[:-1], bounds[1:]):
                row = code_matrix[a]
                key = [uniques[i][row[i]] for i in range(len(KEY_COLUMNS))]
                try:
                    key[3] = _normalise_dimensions(key[3])
                except (json.JSONDecodeError, TypeError):
                    raise AnalysisError(f"{self.path}: dimensions {key[3]!r} is not a JSON object") from None
                t, v = ts[a:b], values[a:b]
                order_t = np.argsort(t, kind="stable")
                index.setdefault(tuple(key), []).append((t[order_t], v[order_t]))
        self._index = {k: parts[0] if len(parts) == 1 else _merge(parts) for k, parts in index.items()}
        return self._index

    def series_keys(self) -> list[tuple]:
        """(region, namespace, metric_name, dimensions, stat, period) of every stored series."""
        return sorted(self._load())

    def time_range(self) -> tuple[int | None, int | None]:
        """First and last datapoint (epoch seconds), None for an empty snapshot."""
        index = self._load()
        if not index:
            return None, None
        return (
            min(int(ts[0]) for ts, _ in index.values() if len(ts)),
            max(int(ts[-1]) for ts, _ in index.values() if len(ts)),
        )

    def fetch(self, region: str, queries: Sequence[MetricQuery], start: int, end: int) -> dict[MetricQuery, Series]:
        index = self._load()
        out = {}
        for q in queries:
            ts, vals = index.get(
                (region, q.namespace, q.metric_name, q.dimensions_json, q.stat, q.period),
                (np.zeros(0, np.int64), np.zeros(0)),
            )
            lo, hi = np.searchsorted(ts, start, "left"), np.searchsorted(ts, end, "left")
            out[q] = Series(region, q, ts[lo:hi].copy(), vals[lo:hi].copy())
        return out


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Series whose dimensions were spelt differently in the file (key order, spaces)."""
    t = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    order = np.argsort(t, kind="stable")
    return t[order], v[order]
