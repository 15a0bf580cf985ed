"""Shared test setup: kernels of backends that cannot run here are skipped, visibly.

Tests are generated from the registry, so a backend whose package is not
installed still appears in every parametrized test; this hook marks those
cases skipped with the backend's install hint instead of letting them fail.
"""

from __future__ import annotations

import pytest

import vecbench as vb

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
    for item in items:
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
