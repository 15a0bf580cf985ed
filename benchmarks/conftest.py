"""pytest-benchmark suite generated from the vecbench registry.

Options (besides pytest-benchmark's own):

``--vecbench-sizes``  quick / default / large sweep (default: default)
``--vecbench-dtype``  float64 or float32 (default float64)
``--vecbench-budget`` seconds a pure-Python kernel may take at one size (default 5)
"""

from __future__ import annotations

import pytest

import vecbench as vb
from vecbench.harness import Settings, python_estimate_s


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vecbench")
    group.addoption("--vecbench-sizes", default="default", choices=["quick", "default", "large"],
                    help="size sweep of the vecbench benchmarks")
    group.addoption("--vecbench-dtype", default="float64", choices=["float64", "float32"],
                    help="input dtype of the vecbench benchmarks")
    group.addoption("--vecbench-budget", type=float, default=Settings().budget_s,
                    help="skip pure-Python kernels predicted to take longer than this (seconds) per size")


def _skip_reason(k: vb.Kernel, size: dict[str, int], budget: float) -> str:
    if not k.available:
        return k.backend.install_hint
    if k.backend.name == "python":
        est = python_estimate_s(k.op, size)
        # pytest-benchmark runs at least ~5 rounds; the same budget rule as the harness.
        if est * 7 > budget:
            return (f"time budget: pure Python predicted ~{est:.3g} s per call at {k.op.label(size)}; "
                    f"7 calls exceed --vecbench-budget={budget:g} s")
    return ""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vb_case" not in metafunc.fixturenames:
        return
    sweep = metafunc.config.getoption("--vecbench-sizes")
    dtype = metafunc.config.getoption("--vecbench-dtype")
    budget = metafunc.config.getoption("--vecbench-budget")
    params = []
    for k in vb.kernels():
        for size in k.op.sizes[sweep]:
            reason = _skip_reason(k, size, budget)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param((k, size, dtype), marks=marks,
                                       id=f"{k.op.name}-{k.backend.name}-{k.op.label(size)}"))
    metafunc.parametrize("vb_case", params)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Add CPU caches, BLAS and its threads, Numba version and threads to the saved JSON.

    Only facts that stay the same between runs on one machine go here:
    pytest-benchmark compares machine_info with a saved baseline and warns on
    any difference. The measured bandwidth and Numba's threading layer (known
    only once a parallel kernel ran) go in each benchmark's extra_info.
    """
    from vecbench.machine import machine_info as vb_machine

    m = vb_machine()
    m["numba"].pop("threading_layer", None)
    # Only NumPy's BLAS and the OpenMP runtime: which other libraries happen
    # to be loaded (SciPy's own OpenBLAS, say) varies from run to run.
    m["blas"] = sorted((b for b in m["blas"] if b.get("user_api") != "blas" or "numpy" in str(b.get("filepath"))),
                       key=lambda b: str(b.get("filepath")))
    machine_info["vecbench"] = {"version": vb.__version__, "machine": m}


@pytest.fixture(scope="session")
def vb_bandwidth() -> dict[str, float]:
    """STREAM-style bandwidth, measured once per session."""
    from vecbench.bandwidth import measure_bandwidth

    return measure_bandwidth()
