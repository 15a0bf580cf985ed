"""The ``dask`` backend: the examples cut into chunks, each chunk's partial result computed on a Dask cluster.

Vectorization's step past one machine: ``dw = X dz / m`` becomes one task per
chunk of examples (``X_c dz_c``), summed, exactly as dask-ml's estimators do
it. Kernels (:mod:`vecbench.operations.dask_kernels`) run the ops' own NumPy
functions on each chunk, so every NaN/inf rule is the numpy backend's.

The cluster
    With no setting the backend starts a ``distributed.LocalCluster`` in the
    measuring process on first use: one worker per thread of ``--threads``
    (all cores by default), one thread each, in-process (``processes=False``:
    workers are threads talking over ``inproc://``, so no process can outlive
    the run; NumPy releases the GIL in its kernels), dashboard off. The only
    ports are the HTTP health endpoints distributed always opens, bound to
    127.0.0.1 on free ports and closed with the cluster. Its start-up time is stored apart (record fact
    ``cluster_start_s`` and the machine block), never in a sample. It is
    closed when the run ends (:meth:`DaskBackend.close`, and at exit).

    ``VECBENCH_DASK_SCHEDULER=tcp://HOST:PORT`` (``--dask-scheduler``,
    ``vb.run(..., dask_scheduler=...)``) uses an existing cluster instead
    (``dask scheduler`` + ``dask worker``, dask-jobqueue, Kubernetes); an
    unreachable one is refused in one line before anything is measured.

Honest timing
    :meth:`DaskBackend.prepare_op` (untimed) cuts each op's arrays along their
    examples and persists them on the workers, waiting until they are there
    (``transfer_in_s``); the timed call is graph construction + compute until
    the result is back on the client. Records carry ``tasks`` (per call),
    ``chunk`` (examples per chunk), ``chunks`` and ``workers`` in their ``facts``.
    ``VECBENCH_DASK_CHUNKS`` (``--dask-chunks``) fixes the examples per chunk;
    by default about two chunks per worker, each 1 MiB to 128 MiB.

Larger than memory
    ``logreg_cost``, ``logreg_grad`` and ``logreg_step`` stream (:meth:`DaskBackend.streams`): at a size
    whose inputs would not fit (the harness's rule, :meth:`Backend.fits`), or at every size with
    ``VECBENCH_DASK_STREAM=always`` (``--dask-stream always``), the data are written once to
    :func:`vecbench.data.inputs_dir` (seeded, :mod:`vecbench.operations.dask_stream_kernels`) and each task reads
    its own chunk of examples from disk; the reference is computed chunk by chunk in float64.

Tolerance
    Chunked sums are reassociated (each chunk's partial sum, then the sum of the
    partials in float64): results are checked against the float64 reference at
    the op's own tolerance (float64: rtol 1e-9, atol 1e-12; float32: rtol 2e-4),
    like the parallel Numba kernels, whose sums are reassociated too.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import socket
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import numpy as np

from .base import Backend, Streamed, inputs_fit

if TYPE_CHECKING:
    from ..opspec import OpSpec

__all__ = ["DaskBackend"]


CHUNK_MIN_BYTES = 1 << 20
# A streamed chunk read from disk: large enough that a task's read and compute dwarf its scheduling,
# small enough that the chunks in flight (one per worker, and the reference's float64 copy) stay a few of them.
STREAM_CHUNK_BYTES = 16 << 20
STREAM_SETTINGS = ("auto", "always", "never")
CHUNK_MAX_BYTES = 128 << 20  # dask.array's own default chunk size
CHUNKS_PER_WORKER = 2
# A mini-batch epoch is a chain of sequential steps, each at least one scheduler round trip
# (ms to tens of ms when the machine is busy): beyond this many steps a call measures the scheduler only.
MAX_EPOCH_STEPS = 64
# Persisting one op's inputs on the workers (untimed): far longer than any size the harness lets fit needs.
PERSIST_TIMEOUT_S = 600.0
CONNECT_TIMEOUT_S = 10.0
LOOPBACK = "127.0.0.1:0"


def scheduler_address() -> str | None:
    """The scheduler set for this run (``VECBENCH_DASK_SCHEDULER``), or None: an embedded LocalCluster."""
    return os.environ.get("VECBENCH_DASK_SCHEDULER") or None


def _stream_setting() -> str:
    return os.environ.get("VECBENCH_DASK_STREAM", "").strip().lower() or "auto"


def _chunks_setting() -> int | None:
    text = os.environ.get("VECBENCH_DASK_CHUNKS", "").strip().lower()
    return None if text in ("", "auto") else int(float(text))


def check_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``tcp://HOST:PORT`` (or ``tls://``); ``ValueError`` naming what is allowed."""
    try:
        parts = urlsplit(address if "://" in address else f"tcp://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise ValueError(f"a scheduler address such as tcp://127.0.0.1:8786; got {address!r}")
    return host, port


class _Cluster:
    """The client this process measures with: an embedded LocalCluster, or a connection to a scheduler."""

    def __init__(self, address: str | None, workers: int):
        import logging

        from distributed import Client, LocalCluster

        self.address, self.workers = address, workers
        self.cluster = None
        t0 = time.perf_counter()
        if address is None:
            # Workers are threads of this process (see the module docstring): nothing to leak, no port.
            # distributed always opens an HTTP server (health routes) per scheduler and worker, by default on
            # 0.0.0.0 and the scheduler's on 8787: loopback and a free port instead; dashboard off.
            # memory_limit=0: the workers are threads of the measuring process, so each would watch the whole
            # process's memory (the harness's inputs and references included) against its share of RAM and
            # pause at 80% of it, leaving prepare_op waiting on its own workers for ever (seen: benchmarks at
            # 100x1e6 in a 12 GB test process). What fits in memory is the harness's rule (Backend.fits).
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, memory_limit=0,
                                        dashboard_address=None, scheduler_kwargs={"dashboard_address": LOOPBACK},
                                        worker_dashboard_address=LOOPBACK, silence_logs=logging.ERROR)
            self.client: Any = Client(self.cluster, set_as_default=False)
        else:
            try:
                self.client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(f"dask scheduler {address} is unreachable: {exc}") from None
        self.start_s = time.perf_counter() - t0
        self.reported = False  # the start-up time goes into the first record measured on this cluster

    def info(self) -> dict[str, Any]:
        """Scheduler address, workers with threads and memory, versions: the machine block's cluster facts."""
        workers = self.client.scheduler_info().get("workers", {})
        return {"embedded": self.cluster is not None, "scheduler": self.client.scheduler.address,
                "start_s": self.start_s, "workers": len(workers),
                "threads": sum(int(w.get("nthreads", 0)) for w in workers.values()),
                "memory_per_worker_bytes": sorted({int(w.get("memory_limit", 0)) for w in workers.values()})}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


class DaskBackend(Backend):
    name = "dask"
    description = ("dask.array over chunks of examples on a distributed cluster (embedded LocalCluster by default; "
                   "--dask-scheduler for a real one); inputs persisted before the clock")
    requires = ("dask", "distributed")
    install = "'vecbench[dask]'"
    role = "other"
    style: ClassVar[dict[str, str]] = {"color": "#17becf", "marker": "P"}
    options: ClassVar[dict[str, str]] = {
        "scheduler": "address of a running dask scheduler, tcp://HOST:PORT (default: an embedded LocalCluster)",
        "chunks": "examples per chunk of the dask backend's arrays (default: auto, ~2 chunks per worker)",
        "stream": "read logreg_cost/grad/step inputs from disk chunk by chunk: auto (where they would not fit "
                  "in memory), always, never",
    }

    def __init__(self) -> None:
        super().__init__()
        self._cluster: _Cluster | None = None
        self._threads: int | None = None
        self._held: tuple[Any, ...] = ()  # the persisted inputs of the measurement in progress
        self._facts: dict[str, Any] = {}
        self._transfers: dict[str, float] = {}
        atexit.register(self.close)

    @property
    def install_hint(self) -> str:
        return "the dask backend needs dask and distributed: pip install 'vecbench[dask]'"

    # ------------------------------------------------------------ options and checks
    def check_option(self, option: str, value: Any) -> str:
        super().check_option(option, value)
        if option == "scheduler":
            check_address(str(value))
            return str(value)
        text = str(value).strip().lower()
        if option == "stream":
            if text not in STREAM_SETTINGS:
                raise ValueError(f"one of {', '.join(STREAM_SETTINGS)}; got {value!r}")
            return text
        if text != "auto":
            try:
                n = float(text)
            except ValueError:
                n = math.nan
            if not (math.isfinite(n) and n == int(n) and n >= 1):
                raise ValueError(f"examples per chunk, a whole number >= 1 or 'auto'; got {value!r}")
            text = str(int(n))
        return text

    def preflight(self) -> None:
        address = scheduler_address()
        if address is None:
            return
        try:
            host, port = check_address(address)
        except ValueError as exc:
            raise ValueError(f"{self.option_env('scheduler')}: {exc}") from None
        try:  # a plain TCP connect: no dask thread or event loop is left in the calling process
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise ValueError(f"dask scheduler {address} is unreachable: {exc.strerror or exc}") from None

    def skip_reason(self, op: str, size: Mapping[str, int]) -> str:
        if "batch" in size:  # a mini-batch op (train_epoch): a chain of sequential steps
            steps = math.ceil(size["m"] / max(1, size["batch"]))
            if steps > MAX_EPOCH_STEPS:
                return (f"an epoch of {steps} sequential steps: on dask each is at least one scheduler round "
                        f"trip, so only batch sizes with <= {MAX_EPOCH_STEPS} steps per epoch are timed")
        return ""

    # ------------------------------------------------------------ larger than memory
    def streams(self, op: OpSpec, size: Mapping[str, int], dtype: str, available_bytes: int) -> bool:
        from ..operations.dask_stream_kernels import OPS

        setting = _stream_setting()
        if op.name not in OPS or setting == "never":
            return False
        return setting == "always" or bool(inputs_fit(op, size, dtype, available_bytes))

    def fits(self, op: OpSpec, size: Mapping[str, int], dtype: str, available_bytes: int) -> str:
        """The default rule, or for a streamed size the chunks in flight and room on disk for the data."""
        if not self.streams(op, size, dtype, available_bytes):
            return super().fits(op, size, dtype, available_bytes)
        import shutil

        from ..data import inputs_dir
        from ..operations.dask_stream_kernels import dataset_dir

        n_x, m = size["n_x"], size["m"]
        need = (self._workers() + 2) * self._stream_chunk(n_x, m, 8) * n_x * 8  # per worker; the reference's 2
        if need > available_bytes:
            return (f"streamed from disk, its chunks in flight need ~{need / 1e9:.2g} GB; only "
                    f"{available_bytes / 1e9:.2g} GB of memory is available")
        folder = inputs_dir()
        disk = op.nbytes(size, np.dtype(dtype).itemsize)
        if not (dataset_dir(folder, n_x, m, dtype) / "model.json").exists():
            there = next((p for p in (folder, *folder.parents) if p.exists()), folder)
            free = shutil.disk_usage(there).free
            if disk > free:
                return (f"streamed from disk, its inputs need ~{disk / 1e9:.2g} GB in {folder} "
                        f"(VECBENCH_INPUTS_DIR); only {free / 1e9:.2g} GB is free there")
        return ""

    def stream(self, op: OpSpec, size: Mapping[str, int], dtype: str, seed: int) -> Streamed:
        """The op on a seeded ``.npy`` dataset in :func:`vecbench.data.inputs_dir`, written once (timed apart)."""
        import functools

        from ..data import inputs_dir
        from ..operations import dask_stream_kernels as ds

        n_x, m = size["n_x"], size["m"]
        folder = inputs_dir()
        cached = (ds.dataset_dir(folder, n_x, m, dtype, seed) / "model.json").exists()
        t0 = time.perf_counter()
        w, b, X_path, y_path = ds.write_model(folder, n_x, m, dtype, seed)
        written = time.perf_counter() - t0
        # The op's arguments after (w, b, X, y) (the step's lr), from its own input factory at the smallest size.
        extra = op.make_inputs({"n_x": 1, "m": 1}, np.dtype(dtype), np.random.default_rng(seed))[4:]
        lr = float(extra[0]) if extra else 0.0
        self._held = ()
        client = self.client()
        chunk = self._stream_chunk(n_x, m, np.dtype(dtype).itemsize)
        self._transfers = {}
        self._facts = {"streamed": True, "disk_inputs": str(X_path.parent), "disk_cached": cached,
                       "disk_write_s": 0.0 if cached else written, "chunk": chunk, "chunks": math.ceil(m / chunk),
                       "tasks": ds.tasks(X_path, chunk), "workers": len(client.scheduler_info().get("workers", {}))}
        self._startup()
        args = (w, b, str(X_path), str(y_path), chunk, lr)
        return Streamed(functools.partial(ds.compute, op.name), args,
                        functools.partial(ds.reference, op.name, *args))

    def _stream_chunk(self, n_x: int, m: int, itemsize: int) -> int:
        """Examples per streamed chunk: the setting, or ~2 chunks per worker of at most 16 MiB."""
        fixed = _chunks_setting()
        if fixed is not None:
            return max(1, min(fixed, m))
        most = max(1, STREAM_CHUNK_BYTES // max(1, n_x * itemsize))
        return max(1, min(m, most, math.ceil(m / (CHUNKS_PER_WORKER * self._workers()))))

    # ------------------------------------------------------------ the cluster
    def client(self) -> Any:
        """The client for this run's setting (starting or reconnecting when the setting changed)."""
        address = scheduler_address()
        workers = self._threads or _cpus()
        c = self._cluster
        if c is not None and (c.address != address or (address is None and c.workers != workers)):
            self.close()
            c = None
        if c is None:
            c = self._cluster = _Cluster(address, workers)
        return c.client

    def close(self) -> None:
        self._held = ()
        c, self._cluster = self._cluster, None
        if c is not None:
            c.close()

    @contextlib.contextmanager
    def thread_limit(self, threads: int) -> Iterator[None]:
        old, self._threads = self._threads, threads
        try:
            yield
        finally:
            self._threads = old

    def threads(self) -> int | None:
        if scheduler_address() is not None:
            return None  # the cluster's own: see the machine block
        return self._threads or _cpus()

    # ------------------------------------------------------------ around a call
    def prepare_op(self, op: str, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        import dask.array as da
        from distributed import futures_of, wait

        args = args[:-1] if has_out else args
        self._held = ()
        client = self.client()
        from ..operations.dask_kernels import LAYOUT  # per op, beside the op's dask kernels

        cut = LAYOUT.get(op, {})
        chunk = self._chunk_len(args, cut)
        t0 = time.perf_counter()
        out = list(args)
        for i, axis in cut.items():
            a = args[i]
            chunks = tuple(chunk if j == axis else a.shape[j] for j in range(a.ndim))
            with warnings.catch_warnings():  # "large graph": the data travel once, here, untimed, as intended
                warnings.simplefilter("ignore", UserWarning)
                out[i] = client.persist(da.from_array(a, chunks=chunks, name=False))
        held = tuple(out[i] for i in cut)
        with client.as_current():
            try:
                wait([f for h in held for f in futures_of(h)], timeout=PERSIST_TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(f"{op}: the dask workers did not hold the inputs after {PERSIST_TIMEOUT_S:.0f} s "
                                   f"(paused for memory, or too slow a network): nothing was timed") from None
        self._held = held
        first = held[0] if held else None
        self._transfers = {"in": time.perf_counter() - t0}
        self._facts = {"chunk": chunk, "chunks": len(first.chunks[cut[next(iter(cut))]]) if first is not None else 0,
                       "workers": len(client.scheduler_info().get("workers", {}))}
        self._startup()
        return tuple(out)

    def _startup(self) -> None:
        if self._cluster is not None and not self._cluster.reported:
            self._transfers["startup"] = self._cluster.start_s  # the harness keeps it with compile_time_s
            self._cluster.reported = True

    def transfer_times(self) -> Mapping[str, float]:
        """``in``: persisting the inputs on the workers; ``startup``: the cluster's start, once."""
        return dict(self._transfers)

    def _chunk_len(self, args: tuple[Any, ...], cut: Mapping[int, int]) -> int:
        """Examples per chunk: the setting, or ~2 chunks per worker of 1-128 MiB (from the largest array cut)."""
        if not cut:
            return 0
        i, axis = max(cut.items(), key=lambda item: args[item[0]].nbytes)
        big = args[i]
        n = max(1, big.shape[axis])
        fixed = _chunks_setting()
        if fixed is not None:
            return min(fixed, n)
        unit = max(1, big.nbytes // n)
        workers = self._cluster.workers if self._cluster and self._cluster.address is None else self._workers()
        want = math.ceil(n / (CHUNKS_PER_WORKER * max(1, workers)))
        lo, hi = math.ceil(CHUNK_MIN_BYTES / unit), max(1, CHUNK_MAX_BYTES // unit)
        return int(min(n, max(1, min(max(want, lo), hi))))

    def _workers(self) -> int:
        c = self._cluster
        if c is None:
            return self._threads or _cpus()
        return max(1, len(c.client.scheduler_info().get("workers", {})))

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        from ..memory import not_measured

        if self._facts.get("streamed"):
            return not_measured("not measured: the inputs are streamed from disk, a chunk per task on the "
                                "cluster's workers, which report memory per worker over time, not per task graph")
        return not_measured("not measurable per call: a call's arrays live on the cluster's workers, which "
                            "report memory per worker over time, not per task graph")

    def record_facts(self, op: str, args: tuple[Any, ...]) -> dict[str, Any]:
        from ..operations.dask_kernels import tasks_per_call

        facts = dict(self._facts)
        if facts.get("streamed"):
            return facts  # tasks counted by stream()
        with contextlib.suppress(Exception):  # a count the graph cannot give is left out, never a failure
            facts["tasks"] = tasks_per_call(op, *args)
        return facts

    def finalize(self, result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
        if has_out:
            out = args[-1]
            out[...] = np.asarray(result).reshape(out.shape)
            return out
        return result

    # ------------------------------------------------------------ metadata
    def metadata(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "install": self.install_hint}
        import dask
        import distributed

        info: dict[str, Any] = {"available": True, "version": dask.__version__,
                                "distributed": distributed.__version__,
                                "scheduler_setting": scheduler_address() or "embedded LocalCluster"}
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                info["cluster"] = self._cluster.info()
                versions: Any = self._cluster.client.get_versions()
                info["cluster"]["worker_versions"] = sorted({
                    f"dask {w['packages'].get('dask')}, distributed {w['packages'].get('distributed')}, "
                    f"numpy {w['packages'].get('numpy')}, python {w['host'].get('python')}"
                    for w in versions.get("workers", {}).values()})
        return info


def _cpus() -> int:
    from ..machine import cpu_count

    return cpu_count()
