"""pytest-benchmark suite generated from the vecbench registry.

Options (besides pytest-benchmark's own):

``--vecbench-sizes``  quick / default / large sweep (default: default)
``--vecbench-dtype``  float64 or float32 (default float64)
``--vecbench-budget`` seconds a pure-Python kernel may take at one size (default 5)
``--vecbench-backends`` comma-separated backends (default: every available one but the opt-in ones,
                      e.g. ``torch_compile``: ``--vecbench-backends torch,torch_compile``)
"""

from __future__ import annotations

import pytest

import vecbench as vb
from vecbench.harness import Settings, budget_reason, static_estimate_s


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vecbench")
    group.addoption("--vecbench-sizes", default="default", choices=["quick", "default", "large"],
                    help="size sweep of the vecbench benchmarks")
    group.addoption("--vecbench-dtype", default="float64", choices=["float64", "float32"],
                    help="input dtype of the vecbench benchmarks")
    group.addoption("--vecbench-backends", type=lambda t: [b for b in t.split(",") if b], default=None,
                    help="comma-separated backends to time (default: every available one but the opt-in ones, "
                         "e.g. torch_compile, which compile for seconds per shape)")
    group.addoption("--vecbench-budget", type=float, default=Settings().budget_s,
                    help="skip pure-Python kernels predicted to take longer than this (seconds) per size")


def _skip_reason(k: vb.Kernel, size: dict[str, int], budget: float) -> str:
    if not k.available:
        return k.backend.install_hint
    if reason := k.backend.skip_reason(k.op.name, size):  # what the backend itself does not measure, as in vb.run
        return reason
    est = static_estimate_s(k, size)
    if est is None:
        return ""
    # pytest-benchmark runs at least ~5 rounds, plus warm-up: the harness's budget rule at 7 calls.
    reason = budget_reason(est, 7, budget, f"{k.backend.name} static estimate at {k.op.label(size)}")
    return f"{reason} (--vecbench-budget)" if reason else ""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vb_case" not in metafunc.fixturenames:
        return
    sweep = metafunc.config.getoption("--vecbench-sizes")
    dtype = metafunc.config.getoption("--vecbench-dtype")
    budget = metafunc.config.getoption("--vecbench-budget")
    params = []
    named = metafunc.config.getoption("--vecbench-backends")
    try:
        selected = vb.kernels(None, named)
    except KeyError as e:
        raise pytest.UsageError(f"--vecbench-backends: {e.args[0]}") from None
    for k in selected:
        if named is None and k.backend.opt_in:
            continue  # as `vecbench run`: an opt-in backend runs when named
        for size in k.op.sizes[sweep]:
            reason = _skip_reason(k, size, budget)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param((k, size, dtype), marks=marks,
                                       id=f"{k.op.name}-{k.backend.name}-{k.op.label(size)}"))
    metafunc.parametrize("vb_case", params)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Add CPU caches, thread pools and each backend's versions and threads to the saved JSON.

    Only facts that stay the same between runs on one machine go here:
    pytest-benchmark compares machine_info with a saved baseline and warns on
    any difference. The measured bandwidth and facts known only once a kernel
    ran (a threading layer) go in each benchmark's extra_info.
    """
    from vecbench.machine import machine_info as vb_machine

    m = vb_machine()
    for facts in m["backends"].values():
        facts.pop("threading_layer", None)
    # Which thread pools happen to be loaded (SciPy's own OpenBLAS, say) varies
    # from run to run; each backend names its own in its facts.
    m.pop("blas", None)
    machine_info["vecbench"] = {"version": vb.__version__, "machine": m}


@pytest.fixture(scope="session")
def vb_bandwidth() -> dict[str, float]:
    """STREAM-style bandwidth, measured once per session."""
    from vecbench.bandwidth import measure_bandwidth

    return measure_bandwidth()
