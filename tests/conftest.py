"""Shared test setup: kernels of backends that cannot run here are skipped, visibly.

Tests are generated from the registry, so a backend whose package is not
installed still appears in every parametrized test; this hook marks those
cases skipped with the backend's install hint instead of letting them fail.

Two documented switches keep the README's test command within minutes on a
2-core machine without weakening what CI proves:

- ``--exhaustive`` runs the tests marked ``exhaustive`` (the whole adversarial
  grid across backends, the long command-line fuzz); without it they are
  skipped, saying how to run them. CI's all-extras run passes it.
- the Hypothesis profile: ``vecbench`` (a fixed number of examples per test,
  derandomized, no deadline: machine load cannot fail a test) or ``thorough``
  (ten times the examples), chosen with ``--hypothesis-profile`` or the
  ``VECBENCH_HYPOTHESIS`` environment variable.
"""

from __future__ import annotations

import os

import pytest
from cases import COMPILE_PER_SHAPE
from hypothesis import HealthCheck, settings

import vecbench as vb

_NO_TIMING = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile("vecbench", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=_NO_TIMING)
settings.register_profile("thorough", max_examples=250, deadline=None, suppress_health_check=_NO_TIMING)
settings.load_profile(os.environ.get("VECBENCH_HYPOTHESIS", "vecbench"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("vecbench").addoption(
        "--exhaustive", action="store_true", help="also run the tests marked exhaustive (CI's all-extras run does)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "exhaustive: a long, exhaustive test; runs with --exhaustive")


def pytest_sessionstart(session: pytest.Session) -> None:
    """With pytest-xdist, compile the Numba kernels once in the controller's helpers (tests/warm_cache.py)."""
    config = session.config
    workers = getattr(config.option, "numprocesses", None)
    if hasattr(config, "workerinput") or not workers or config.option.collectonly:
        return  # a worker (the controller warmed the cache), or one process that compiles as it goes
    import subprocess
    import sys
    from pathlib import Path

    from warm_cache import jit_kernels

    names = jit_kernels()
    count = int(workers) if str(workers).isdigit() else (os.cpu_count() or 1)  # xdist resolves "auto" early
    n = max(1, min(count, len(names)))
    here = Path(__file__).parent
    procs = [subprocess.Popen([sys.executable, str(here / "warm_cache.py"), *names[i::n]], cwd=here,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(n)]
    for p in procs:
        try:
            p.wait(timeout=900)
        except subprocess.TimeoutExpired:
            p.kill()


# The exhaustive odd-value grids (hundreds of calls per kernel) leave out backends whose every call is a
# scheduler round trip; tests/test_dask.py checks the same rules on a sample, cut into several chunks.
_GRIDS = ("test_odd_values_follow_the_reference_without_warnings", "test_every_pair_of_odd_values_at_the_smallest_sizes",
          "test_odd_values_at_sizes_the_parallel_kernels_split", "test_hypothesis_any_float64_values")


def _backend_of(name: str, value: object) -> str | None:
    if isinstance(value, vb.Kernel):
        return value.backend.name
    if name == "backend" and isinstance(value, str) and value in vb.backends():
        return value
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    exhaustive = config.getoption("--exhaustive")
    for item in items:
        if not exhaustive and item.get_closest_marker("exhaustive"):
            item.add_marker(pytest.mark.skip(reason="exhaustive: run with --exhaustive (CI's all-extras run does)"))
        params = getattr(getattr(item, "callspec", None), "params", {})
        for name, value in params.items():
            backend = _backend_of(name, value)
            if backend and not vb.backend(backend).available:
                item.add_marker(pytest.mark.skip(reason=f"backend unavailable: {vb.backend(backend).install_hint}"))
                break
            if backend == "dask" and item.originalname in _GRIDS:
                item.add_marker(pytest.mark.skip(reason="exhaustive grid: each dask call is a scheduler round trip; "
                                                        "tests/test_dask.py samples the same rules"))
                break
            # Not the hypothesis test: it reuses one shape, so one compile per op.
            if backend in COMPILE_PER_SHAPE and item.originalname in _GRIDS[:3]:
                item.add_marker(pytest.mark.skip(reason=f"exhaustive grid: {backend} compiles each shape (seconds); "
                                                        f"tests/test_{backend}.py checks the same rules at one shape"))
                break
