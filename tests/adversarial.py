"""An adversarial grid over every (op, backend) pair of the registry: odd values, layouts and aliasing.

Each case is one op's seeded small inputs with one mutation: an array
argument gets NaN, +-inf, huge, tiny or subnormal values (in one place, a
whole row or column, everywhere, alternating in sign), a scalar gets an
extreme value, an ``out=`` aliases or overlaps an input. Every backend is
run on it and compared with the op's float64 reference:

- ``wrong``: NaN in different places, infinities of another sign, or finite
  values beyond the op's tolerance;
- ``warning``: any warning (the rule is that no backend warns);
- ``bad_error``: an error that does not start with ``"<op>: "`` and name a
  parameter, or that differs between backends;
- ``accepted``: a bad input (see :func:`_bad_inputs`) some backend accepted.

``python tests/adversarial.py`` prints the counts and the first problems;
``tests/test_semantics.py`` asserts they are all zero. New ops and backends
are picked up from the registry with no edit.
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cases import COMPILE_PER_SHAPE, available_backends

import vecbench as vb
from vecbench.data import inputs

SPECIALS = [np.nan, np.inf, -np.inf, 1e308, -1e308, 1e300, 1e154, 1e-160, 1e-300, 1e-310, 5e-324, 0.0, -0.0]
SCALAR_SPECIALS = [1e308, -1e308, 1e-310, 0.0, 1e300]


@dataclass
class Tally:
    cases: int = 0
    calls: int = 0
    wrong: list[str] = field(default_factory=list)
    warning: list[str] = field(default_factory=list)
    bad_error: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # odd but valid-looking input refused by rule (not a failure)

    def counts(self) -> dict[str, int]:
        return {"cases": self.cases, "calls": self.calls, "wrong": len(self.wrong), "warning": len(self.warning),
                "bad_error": len(self.bad_error), "accepted": len(self.accepted), "refused": len(self.refused)}


def small_size(op: vb.OpSpec) -> dict[str, int]:
    keys = list(op.sizes["quick"][0])
    dims = {"n": 9, "k": 5, "m": 6, "n_x": 4, "batch": 4}
    return {key: dims.get(key, 5) for key in keys}


def _mutations(a: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Copies of float array ``a`` with special values put in."""
    for v in SPECIALS:
        for where in ("first", "middle", "all", "alternating", "row", "column"):
            b = np.array(a, dtype=np.float64)
            flat = b.reshape(-1)
            if where == "first":
                flat[0] = v
            elif where == "middle":
                flat[flat.size // 2] = v
            elif where == "all":
                flat[:] = v
            elif where == "alternating":
                flat[:] = v
                flat[1::2] = -v
            elif where == "row":
                if b.ndim != 2:
                    continue
                b[b.shape[0] // 2, :] = v
            elif where == "column":
                if b.ndim != 2:
                    continue
                b[:, b.shape[1] // 2] = v
            yield f"{where}={v!r}", b


def _layouts(a: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    yield "C", a
    if a.ndim == 2:
        yield "F", np.asfortranarray(a)
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    yield "strided", big[..., ::2]


def cases(op_name: str) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """``(label, args)`` of every odd input for ``op_name``."""
    op = vb.spec(op_name)
    base = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(op, small_size(op)))
    yield "base", base
    for i, a in enumerate(base):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            for label, b in _mutations(a):
                for lay, c in _layouts(b) if label.startswith(("all", "column", "row")) else [("C", b)]:
                    args = base[:i] + (c,) + base[i + 1:]
                    yield f"arg{i} {label} {lay}", args
                    if label.endswith(("1e308", "1e-310", "nan")) and lay == "C":
                        yield f"arg{i} {label} float32", tuple(
                            x.astype(np.float32) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
                            for x in args)
        elif isinstance(a, float):
            name = _param_names(op)[i]
            for v in SCALAR_SPECIALS:
                if name == "lr" and v <= 0:  # a bad input, refused (see _bad_inputs)
                    continue
                yield f"{name}={v!r}", base[:i] + (v,) + base[i + 1:]
    yield from _op_cases(op_name, base)


def _op_cases(op_name: str, base: tuple[Any, ...]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Odd inputs that only make sense for one op's formula (its docstring states the rule)."""
    if op_name == "mlp_step":
        x, y, W1, W2, lr = base
        # relu at exactly 0: relu'(0) = 0 in the manual backward pass, jax.nn.relu and torch.relu alike.
        W1z = W1.copy()
        W1z[:, 0] = 0.0
        yield "mlp pre-activation exactly 0", (x, y, W1z, W2, lr)
        xz = x.copy()
        xz[0] = 0.0
        yield "mlp an all-zero example", (xz, y, W1, W2, lr)
        # Finite inputs just past the overflow bound (the float64 formula for every backend) and a step
        # whose loss overflows while every input is finite.
        yield "mlp x near the overflow bound", (x * 1e150, y, W1, W2, lr)
        yield "mlp loss overflows", (x * 1e160, y, W1 * 1e150, W2, lr)
        # One non-finite input makes the whole step NaN, whatever the kernel skips (0 * inf products).
        for v in (np.nan, np.inf):
            W2n = W2.copy()
            W2n[-1, -1] = v
            yield f"mlp W2[-1, -1]={v!r}", (x, y, W1, W2n, lr)


def medium_cases(op_name: str) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """A few odd inputs at a size where the parallel kernels split the work into chunks."""
    op = vb.spec(op_name)
    sizes = list(op.sizes.get("test", [])) or [
        {k: v for k, v in zip(op.sizes["quick"][0], s)}
        for s in ([(300_007,)] if len(op.sizes["quick"][0]) == 1 else [(501, 401)])]
    size = max(sizes, key=lambda s: int(np.prod(list(s.values()))))
    base = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(op, size))
    for i, a in enumerate(base):
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f") or a.size < 1000:
            continue
        for label, v, where in [("nan", np.nan, "middle"), ("inf", np.inf, "column"), ("-inf", -np.inf, "last"),
                                ("1e308", 1e308, "all"), ("1e-310", 1e-310, "all"), ("alt 1e308", 1e308, "alt")]:
            b = a.copy()
            flat = b.reshape(-1)
            if where == "middle":
                flat[flat.size // 2] = v
            elif where == "last":
                flat[-1] = v
            elif where == "column" and b.ndim == 2:
                b[:, b.shape[1] // 2] = v
            elif where == "column":
                flat[::97] = v
            elif where == "all":
                flat[:] = v
            else:
                flat[:] = v
                flat[1::2] = -v
            yield f"medium {size} arg{i} {label} {where}", base[:i] + (b,) + base[i + 1:]


PAIR_VALUES = [np.nan, np.inf, -np.inf, 1e308, -1e308, 1e-310, -0.0, -2.5]


def tiny_cases(op_name: str) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every pair of odd values, alternating through one float array, at the smallest sizes (1 and 2)."""
    op = vb.spec(op_name)
    for dim in (1, 2):
        size = {key: dim for key in op.sizes["quick"][0]}
        base = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(op, size))
        for i, a in enumerate(base):
            if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
                continue
            for v, u in itertools.product(PAIR_VALUES, PAIR_VALUES):
                if dim == 1 and u is not PAIR_VALUES[0]:
                    continue  # one element: only v matters
                b = np.array(a, dtype=np.float64)
                flat = b.reshape(-1)
                flat[0::2] = v
                flat[1::2] = u
                yield f"tiny {size} arg{i} = [{v!r}, {u!r}, ...]", base[:i] + (b,) + base[i + 1:]


def _same(r: Any, e: Any, rtol: float, atol: float) -> str | None:
    """Why result ``r`` differs from expected ``e`` (None when it does not)."""
    if isinstance(e, tuple):
        if not isinstance(r, tuple) or len(r) != len(e):
            return f"got {type(r).__name__}, expected a tuple of {len(e)}"
        for k, (x, y) in enumerate(zip(r, e)):
            why = _same(x, y, rtol, atol)
            if why:
                return f"[{k}] {why}"
        return None
    r = np.asarray(r, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if r.shape != e.shape:
        return f"shape {r.shape} != {e.shape}"
    if not np.array_equal(np.isnan(r), np.isnan(e)):
        return f"NaN in different places: {r.ravel()[:6]} vs {e.ravel()[:6]}"
    inf_r, inf_e = np.isinf(r), np.isinf(e)
    if not np.array_equal(inf_r, inf_e) or not np.array_equal(r[inf_r], e[inf_e]):
        return f"infinities differ: {r.ravel()[:6]} vs {e.ravel()[:6]}"
    fin = np.isfinite(e)
    if not np.allclose(r[fin], e[fin], rtol=rtol, atol=atol):
        err = np.max(np.abs(r[fin] - e[fin]))
        return f"max abs error {err:.3g}: {r.ravel()[:6]} vs {e.ravel()[:6]}"
    return None


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result, exc = fn(*args, **kwargs), None
        except Exception as e:  # noqa: BLE001 - every error is classified below
            result, exc = None, e
    return result, exc, [f"{w.category.__name__}: {w.message}" for w in caught]


def _param_names(op: vb.OpSpec) -> list[str]:
    return [p for p in inspect.signature(op.validate).parameters]


def _error_ok(op: vb.OpSpec, exc: BaseException) -> bool:
    msg = str(exc)
    return msg.startswith(f"{op.name}: ") and any(f" {p} " in f" {msg.split(': ', 1)[1]}" for p in _param_names(op))


# Backends whose every call is a scheduler round trip (tens of ms): the grid of thousands of calls
# leaves them out; tests/test_dask.py runs the same rules on a sample, cut into several chunks.
ROUND_TRIP_BACKENDS = ("dask",)


def grid_backends(op_name: str) -> list[str]:
    """The backends the exhaustive grids run: all of ``op_name``'s but the round-trip ones and those that
    compile per shape (cases.COMPILE_PER_SHAPE: tests/test_torch_compile.py runs the rules at one shape)."""
    return [b for b in available_backends(op_name) if b not in ROUND_TRIP_BACKENDS + COMPILE_PER_SHAPE]


def check_case(tally: Tally, op_name: str, label: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None,
               bad: bool = False, expected: Any = None,
               make: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None = None) -> None:
    """Run every backend of ``op_name`` on ``args`` and tally what goes wrong.

    ``make`` builds fresh arguments for each backend (aliased ``out=`` cases
    need their own buffers each time); by default, copies of ``args``.
    """
    kwargs = kwargs or {}
    op = vb.spec(op_name)
    tally.cases += 1
    # The very arrays by default (copies would lose their layout); kernels never write their inputs.
    fresh = make or (lambda: (args, kwargs))
    errors: dict[str, str] = {}
    backends = grid_backends(op_name)
    for backend in backends:
        a, kw = fresh()
        tally.calls += 1
        result, exc, warns = _call(vb.kernel(op_name, backend), *a, **kw)
        tag = f"{op_name}/{backend} {label}"
        if warns:
            tally.warning.append(f"{tag}: {warns[0]}")
        if exc is not None:
            errors[backend] = f"{type(exc).__name__}: {exc}"
            # Refusing an odd input is a rule too, when the error names the
            # op and the parameter and every backend raises it alike (below).
            if not _error_ok(op, exc):
                tally.bad_error.append(f"{tag}: {type(exc).__name__}: {exc}")
            elif not bad:
                tally.refused.append(f"{tag}: {type(exc).__name__}: {exc}")
            continue
        if bad:
            tally.accepted.append(f"{tag}: accepted")
            continue
        if expected is None:
            a, kw = fresh()
            expected_, exc_ref, _ = _call(op.reference, *a, **kw)
            if exc_ref is not None:
                tally.bad_error.append(f"{tag}: reference raised {exc_ref!r}")
                continue
        else:
            expected_ = expected
        dt = "float32" if any(isinstance(x, np.ndarray) and x.dtype == np.float32 for x in args) else "float64"
        rtol, atol = op.tol(dt)
        why = _same(result, expected_, rtol, atol)
        if why:
            tally.wrong.append(f"{tag}: {why}")
    if errors and (len(set(errors.values())) > 1 or len(errors) < len(backends)):
        tally.bad_error.append(f"{op_name} {label}: backends disagree: {errors}")


def _out_cases(op_name: str) -> Iterator[tuple[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]]]:
    """``out=`` that is, or overlaps, an input, as factories of fresh ``(args, kwargs)``."""
    op = vb.spec(op_name)
    if not op.has_out:
        return
    base = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(op, small_size(op)))
    if op_name == "matvec":
        A0, v0 = base
        n = min(A0.shape)
        A0 = np.ascontiguousarray(A0[:n, :n])
        v0 = v0[:n].copy()

        def out_v():
            A, v = A0.copy(), v0.copy()
            return (A, v), {"out": v}

        def out_row():
            A, v = A0.copy(), v0.copy()
            return (A, v), {"out": A[0]}

        def out_col():
            A, v = A0.copy(), v0.copy()
            return (A, v), {"out": A[:, 0]}

        def shifted(k):
            def make():
                buf = np.concatenate([v0, v0[:2] + 0.5])
                return (A0.copy(), buf[:n] if k > 0 else buf[1:n + 1]), {"out": buf[1:n + 1] if k > 0 else buf[:n]}
            return make

        yield from [("out=v", out_v), ("out=A[0]", out_row), ("out=A[:,0]", out_col),
                    ("out = v shifted by +1", shifted(1)), ("out = v shifted by -1", shifted(-1))]
        return
    # Every array argument the result could be written over (its shape is the result's): an op with
    # several inputs (axpy's x and y) is checked against each of them, the others left as they are.
    shape = np.shape(op.reference(*base))
    where = [i for i, a in enumerate(base) if isinstance(a, np.ndarray) and a.shape == shape]
    names = _param_names(op)
    for i in where:
        yield from _aliasing(base, i, "input" if len(where) == 1 and i == 0 else names[i])


def _aliasing(base: tuple[Any, ...], i: int, name: str
              ) -> Iterator[tuple[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]]]:
    """``out=`` over argument ``i`` of ``base``: the same array, shifted views of one buffer, the transpose."""
    a0 = base[i]

    def args_with(x: np.ndarray) -> tuple[Any, ...]:
        return tuple(x if j == i else (b.copy() if isinstance(b, np.ndarray) else b) for j, b in enumerate(base))

    def same():
        a = a0.copy()
        return args_with(a), {"out": a}

    yield f"out={name}", same

    def shifted2(shift):
        def make():
            flat = np.concatenate([a0.ravel(), a0.ravel()[:3] + 0.25])
            lo, hi = (0, shift) if shift > 0 else (-shift, 0)
            return (args_with(flat[lo:lo + a0.size].reshape(a0.shape)),
                    {"out": flat[hi:hi + a0.size].reshape(a0.shape)})
        return make

    for shift in (1, 2, 3, -1, -2, -3):
        yield f"out = {name} shifted by {shift:+d}", shifted2(shift)
    if a0.ndim == 2 and len(base) == 1:  # a square corner of the one input and its transpose
        def transposed():
            k = min(a0.shape)
            sq = np.ascontiguousarray(a0[:k, :k])
            return (sq,), {"out": sq.T}
        yield f"out = {name} transposed", transposed


def _bad_inputs(op_name: str) -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Inputs every backend must refuse with an error naming the op and the parameter."""
    op = vb.spec(op_name)
    base = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(op, small_size(op)))
    names = _param_names(op)
    for i, a in enumerate(base):
        if isinstance(a, np.ndarray):
            if a.ndim == 1 and a.size >= 2:
                yield f"{names[i]} ragged", base[:i] + ([[1.0, 2.0], [3.0]],) + base[i + 1:], {}
            if a.ndim == 2:
                rows = [list(r) for r in a.tolist()]
                rows[-1] = rows[-1][:-1]
                yield f"{names[i]} ragged rows", base[:i] + (rows,) + base[i + 1:], {}
            yield f"{names[i]} complex", base[:i] + (a.astype(complex),) + base[i + 1:], {}
            yield f"{names[i]} object", base[:i] + (np.array([None] * 3, dtype=object),) + base[i + 1:], {}
            yield f"{names[i]} str", base[:i] + ("1, 2",) + base[i + 1:], {}
            if inspect.signature(op.validate).parameters[names[i]].default is not None:  # None means "default"
                yield f"{names[i]} None", base[:i] + (None,) + base[i + 1:], {}
        elif isinstance(a, float):
            for bad in (np.nan, np.inf, -np.inf, True, False, "0.1", None, [0.1, 0.2], np.array([1.0, 2.0])):
                yield f"{names[i]}={bad!r}", base[:i] + (bad,) + base[i + 1:], {}
            if names[i] == "lr":
                for bad in (0.0, -0.1, -1e308):
                    yield f"lr={bad!r}", base[:i] + (bad,) + base[i + 1:], {}
        elif isinstance(a, int) and not isinstance(a, bool):
            for bad in (True, False, 0, -1, 2.5, np.float64(2.0), "4", None, 10**9):
                yield f"{names[i]}={bad!r}", base[:i] + (bad,) + base[i + 1:], {}
    if "perm" in names:
        i = names.index("perm")
        m = len(base[i])
        dup = np.arange(m)
        dup[1] = 0
        for label, p in [("duplicate", dup), ("short", np.arange(m - 1)), ("out of range", np.arange(1, m + 1)),
                         ("negative", np.arange(m) - 1), ("float", np.arange(m, dtype=float)),
                         ("bool", np.ones(m, dtype=bool)), ("2-D", np.arange(m).reshape(1, 1, m))]:
            yield f"perm {label}", base[:i] + (p,) + base[i + 1:], {}
    if op.has_out:
        shape = np.asarray(base[0]).shape if op_name != "matvec" else (base[0].shape[0],)
        ro = np.empty(shape)
        ro.setflags(write=False)
        for label, out in [("wrong shape", np.empty(shape + (1,))), ("float32", np.empty(shape, np.float32)),
                           ("list", [0.0] * int(np.prod(shape))), ("read-only", ro)]:
            yield f"out {label}", base, {"out": out}


def run_grid(ops: list[str] | None = None) -> Tally:
    """Run every case of every op (all ops of the registry by default)."""
    tally = Tally()
    for op_name in ops or vb.ops():
        for label, args in itertools.chain(cases(op_name), tiny_cases(op_name), medium_cases(op_name)):
            check_case(tally, op_name, label, args)
        for label, make in _out_cases(op_name):
            args, _ = make()
            expected = vb.spec(op_name).reference(*(a.copy() if isinstance(a, np.ndarray) else a for a in args))
            check_case(tally, op_name, label, args, expected=expected, make=make)
        for label, args, kwargs in _bad_inputs(op_name):
            # The very objects (a read-only out must stay read-only); bad input is never written.
            check_case(tally, op_name, label, args, kwargs, bad=True, make=lambda a=args, k=kwargs: (a, k))
    return tally


if __name__ == "__main__":
    import sys

    t = run_grid(sys.argv[1:] or None)
    print(t.counts())
    for kind in ("wrong", "warning", "bad_error", "accepted", "refused"):
        for line in getattr(t, kind)[:15]:
            print(f"{kind}: {line}")
