"""``logreg_cost``/``logreg_grad``/``logreg_step`` on an ``X`` larger than memory, streamed from ``.npy`` files.

The data are written once (:func:`write_model`, seeded, cached in a folder:
a second call with the same arguments finds them), ``X`` example-major
(Fortran order), so that the columns of a chunk are one contiguous run of the
file. Each task of :func:`logreg_grad` reads its own chunk with ``np.fromfile``
at an offset (no memory map of the whole file: a map counts against an
address-space limit), computes that chunk's partials with the dask backend's
chunk function and drops it; memory is bounded by the chunks in flight
(workers x chunk bytes, plus a few vectors of the chunk's length), whatever
the size of ``X``. :func:`grad_reference` is the float64 reference, computed
chunk by chunk in one loop. :func:`compute` runs any of the three ops (the
cost's chunk function, or the gradient's with the step's update) and
:func:`reference` gives its reference, cached in the data's folder.

``vecbench run --backends dask`` measures on such data where the inputs would
not fit in memory, or at every size with ``--dask-stream always``
(:meth:`vecbench.backends.dask.DaskBackend.stream`).

Not covered here: a non-finite result is not recomputed by the careful,
scaled path of the in-memory ops (that path reads ``X`` whole); streamed data
written by :func:`write_model` are finite.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._logistic import loss_terms, sigmoid
from .dask_kernels import _cost_part, _delayed, _grad_part, _grad_total, _mean, _step_total

__all__ = ["GEN_CHUNK", "OPS", "compute", "dataset_dir", "grad_reference", "logreg_grad", "read_columns", "reference",
           "tasks", "write_model"]

OPS = ("logreg_cost", "logreg_grad", "logreg_step")  # what streams: the ops whose partials are one pass over X

GEN_CHUNK = 1 << 15  # examples generated at a time: the file's content does not depend on how it is read


def _ranges(m: int, chunk: int) -> Iterator[tuple[int, int]]:
    for start in range(0, m, chunk):
        yield start, min(m, start + chunk)


def _header(path: Path) -> tuple[int, tuple[int, ...], bool, np.dtype]:
    """``(data offset, shape, fortran_order, dtype)`` of a ``.npy`` file (read without loading it)."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(f)
        return f.tell(), tuple(shape), bool(fortran), np.dtype(dtype)


def read_columns(path: str | os.PathLike[str], start: int, stop: int) -> np.ndarray:
    """Columns ``start:stop`` of an example-major ``(n_x, m)`` ``.npy`` (or entries of a 1-D one), read alone."""
    offset, shape, fortran, dtype = _header(Path(path))
    rows = shape[0] if len(shape) == 2 else 1
    if len(shape) == 2 and not fortran:
        raise ValueError(f"read_columns: {path} must be example-major (Fortran order) to stream columns")
    with open(path, "rb") as f:
        f.seek(offset + start * rows * dtype.itemsize)
        data = np.fromfile(f, dtype=dtype, count=(stop - start) * rows)
    return data.reshape((rows, stop - start), order="F") if len(shape) == 2 else data


def _write_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype, blocks: Iterator[np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.lib.format.write_array_header_2_0(f, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                 "fortran_order": len(shape) == 2, "shape": shape})
        for block in blocks:
            f.write(np.asarray(block, dtype=dtype).tobytes(order="F"))
    os.replace(tmp, path)


def dataset_dir(folder: str | os.PathLike[str], n_x: int, m: int, dtype: str = "float64", seed: int = 0) -> Path:
    """The folder :func:`write_model` writes these data in (they are there once it holds ``model.json``)."""
    return Path(folder) / f"logreg-{n_x}x{m}-{np.dtype(dtype).name}-seed{seed}"


def write_model(folder: str | os.PathLike[str], n_x: int, m: int, dtype: str = "float64", seed: int = 0
                ) -> tuple[np.ndarray, float, Path, Path]:
    """Seeded ``(w, b, X path, y path)`` with ``X`` of shape ``(n_x, m)`` on disk; written once, then reused.

    Generated ``GEN_CHUNK`` examples at a time (``default_rng([seed, chunk index])``), so writing never
    holds ``X`` in memory either; labels are drawn from the model, as :func:`vecbench.operations.logreg.make_model`.
    """
    dt = np.dtype(dtype)
    where = dataset_dir(folder, n_x, m, dtype, seed)
    X_path, y_path, meta = where / "X.npy", where / "y.npy", where / "model.json"
    w = (np.random.default_rng([seed, 1 << 32]).standard_normal(n_x) / math.sqrt(n_x)).astype(dt)
    b = 0.1
    if not meta.exists():
        where.mkdir(parents=True, exist_ok=True)

        def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for j, (start, stop) in enumerate(_ranges(m, GEN_CHUNK)):
                rng = np.random.default_rng([seed, j])
                X = rng.standard_normal((n_x, stop - start)).astype(dt)
                p = sigmoid(2.0 * (w.astype(np.float64) @ X) + b)
                yield X, (rng.random(stop - start) < p).astype(dt)

        _write_npy(X_path, (n_x, m), dt, (X for X, _ in chunks()))
        _write_npy(y_path, (m,), dt, (y for _, y in chunks()))
        meta.write_text(json.dumps({"n_x": n_x, "m": m, "dtype": dt.name, "seed": seed, "b": b}))
    return w, b, X_path, y_path


def _stream_part(X_path: str, y_path: str, start: int, stop: int, w: np.ndarray, b: float, cost: bool) -> Any:
    X, y = read_columns(X_path, start, stop), read_columns(y_path, start, stop)
    return _cost_part(X, y, w, b) if cost else _grad_part(X, y, w, b)


def tasks(X_path: str | os.PathLike[str], chunk: int) -> int:
    """Tasks per call of :func:`compute`: one per chunk, one adding the partials."""
    return math.ceil(_header(Path(X_path))[1][1] / chunk) + 1


def compute(op: str, w: np.ndarray, b: float, X_path: str | os.PathLike[str], y_path: str | os.PathLike[str],
            chunk: int = GEN_CHUNK, lr: float = 0.0, client: Any = None) -> Any:
    """``op``'s result on the examples in the ``.npy`` files, one task per chunk reading its own columns.

    ``logreg_cost``: ``J``; ``logreg_grad``: ``(dw, db, J)``; ``logreg_step``: ``(w - lr dw, b - lr db, J)``.
    ``client``: a ``distributed.Client`` (default: the dask backend's, an embedded LocalCluster unless
    ``VECBENCH_DASK_SCHEDULER`` names one; its workers must see the files at the same paths).
    """
    if op not in OPS:
        raise KeyError(f"unknown streamed op {op!r}; available: {sorted(OPS)}")
    _, shape, _, dtype = _header(Path(X_path))
    m = shape[1]
    part = _delayed(_stream_part)
    parts = [part(str(X_path), str(y_path), a, z, w, float(b), op == "logreg_cost") for a, z in _ranges(m, chunk)]
    graph = (_delayed(_mean)(parts, m) if op == "logreg_cost" else _delayed(_grad_total)(parts, m, dtype)
             if op == "logreg_grad" else _delayed(_step_total)(parts, m, w, float(b), lr))
    if client is None:
        from ..registry import backend

        client = backend("dask").client()  # type: ignore[attr-defined]
    return client.compute(graph, sync=True)


def logreg_grad(w: np.ndarray, b: float, X_path: str | os.PathLike[str], y_path: str | os.PathLike[str],
                chunk: int = GEN_CHUNK, client: Any = None) -> tuple[np.ndarray, float, float]:
    """``(dw, db, J)`` of the examples in the ``.npy`` files (:func:`compute` of ``logreg_grad``)."""
    result: tuple[np.ndarray, float, float] = compute("logreg_grad", w, b, X_path, y_path, chunk, client=client)
    return result


def grad_reference(w: np.ndarray, b: float, X_path: str | os.PathLike[str], y_path: str | os.PathLike[str],
                   chunk: int = GEN_CHUNK) -> tuple[np.ndarray, float, float]:
    """The float64 reference ``(dw, db, J)``, one chunk in memory at a time (the plain formulas, summed in float64)."""
    _, shape, _, _ = _header(Path(X_path))
    n_x, m = shape
    w64 = np.asarray(w, np.float64)
    xdz, sdz, loss = np.zeros(n_x), 0.0, 0.0
    with np.errstate(all="ignore"):
        for a, z in _ranges(m, chunk):
            X = read_columns(X_path, a, z).astype(np.float64)
            y = read_columns(y_path, a, z).astype(np.float64)
            zz = w64 @ X + b
            dz = sigmoid(zz) - y
            xdz += X @ dz
            sdz += float(dz.sum())
            loss += float(loss_terms(zz, y).sum())
    return xdz / m, sdz / m, loss / m


def reference(op: str, w: np.ndarray, b: float, X_path: str | os.PathLike[str], y_path: str | os.PathLike[str],
              chunk: int = GEN_CHUNK, lr: float = 0.0) -> Any:
    """``op``'s float64 reference from :func:`grad_reference`, kept in ``reference.npz`` beside ``X``.

    The file is keyed by ``w`` and ``b`` (the data's own model from :func:`write_model` in a run): a pass
    over data larger than memory is made once, not once per op, backend and run.
    """
    if op not in OPS:
        raise KeyError(f"unknown streamed op {op!r}; available: {sorted(OPS)}")
    w64 = np.asarray(w, np.float64)
    where = Path(X_path).with_name("reference.npz")
    got = None
    if where.exists():
        with np.load(where) as f:
            if np.array_equal(f["w"], w64) and float(f["b"]) == float(b):
                got = f["dw"], float(f["db"]), float(f["J"])
    if got is None:
        got = grad_reference(w, b, X_path, y_path, chunk)
        tmp = where.with_name("reference.tmp.npz")
        np.savez(tmp, w=w64, b=float(b), dw=got[0], db=got[1], J=got[2])
        os.replace(tmp, where)
    dw, db, J = got
    if op == "logreg_cost":
        return J
    if op == "logreg_grad":
        return dw, db, J
    return w64 - lr * dw, float(b) - lr * db, J
