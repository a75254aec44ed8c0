"""The pytest plugin's overhead per test, reset included, with the embedded default set.

    .venv/bin/python benchmarks/plugin.py [--tests 300]

Runs three pytest sessions in fresh subprocesses over the same number of trivial tests: one that
uses no fixture, one that uses `mockflow` (in-process), one that uses `mockflow_server` (live).
The overhead per test is the difference in wall time divided by the number of tests, after
subtracting the one-off cost (first app build, server start) measured by a one-test session.
Also prints the bare `MockAirflow.reset()` time. Target (issue: pytest plugin): <= 2 ms per test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mockflow import MockAirflow

BODIES = {
    "no fixture": "def test_{n}():\n    assert True\n",
    "mockflow": "def test_{n}(mockflow):\n    assert mockflow\n",
    "mockflow_server": "def test_{n}(mockflow_server):\n    assert mockflow_server\n",
}


def session_seconds(directory: Path, body: str, tests: int) -> float:
    source = "".join(body.format(n=n) for n in range(tests))
    path = directory / "test_bench.py"
    path.write_text(source)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", str(path)],
                   cwd=directory, check=True, capture_output=True)
    return time.perf_counter() - started


def per_test_ms(directory: Path, body: str, tests: int) -> float:
    """(session of `tests` tests - session of one test) / (tests - 1), best of three."""
    many = min(session_seconds(directory, body, tests) for _ in range(3))
    one = min(session_seconds(directory, body, 1) for _ in range(3))
    return (many - one) / (tests - 1) * 1000


def reset_ms(rounds: int = 200) -> float:
    with MockAirflow() as mock:
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            mock.reset()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=1500)
    args = parser.parse_args()
    print(f"MockAirflow.reset() with the default set: median {reset_ms():.3f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        baseline = per_test_ms(Path(tmp), BODIES["no fixture"], args.tests)
        print(f"pytest itself, per test: {baseline:.3f} ms ({args.tests} tests)")
        for name in ("mockflow", "mockflow_server"):
            cost = per_test_ms(Path(tmp), BODIES[name], args.tests) - baseline
            print(f"plugin overhead per test, `{name}` (reset included): {cost:.3f} ms (target <= 2 ms)")


if __name__ == "__main__":
    main()
