"""Replays the recorded answers of a real Airflow 2.5.3 (../shared/conformance) against a live
mockflow seeded with the recorded state, and reports the figure.

Runs only where the shared conformance kit sits beside the checkout (every developer machine and
CI). The scenarios listed in MUST_MATCH are those whose capability has landed: each must match
100 %; the overall figure is printed for the record.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mockflow import Settings, create_app
from mockflow.server import LiveServer

KIT = Path(__file__).resolve().parents[2] / "shared" / "conformance"
MUST_MATCH = [
    "01_meta_health_version_config", "02_auth_basics", "03_pools_crud", "04_pools_list_paging", "05_variables_crud",
    "06_variables_list_paging", "07_connections_crud", "08_connections_list_paging", "09_users_crud",
    "10_roles_crud", "11_users_roles_permissions_lists", "15_dag_sources", "16_dagruns_lifecycle",
    "17_dagruns_list_batch", "18_task_instances", "19_task_instances_mapped", "20_xcom_links_logs", "21_datasets",
    "22_eventlogs_importerrors_warnings", "23_bad_input",
]
# 12, 13, 14 and 24 list DAG tags in the order the recorded server's database held them, which it
# took from a Python set; the shared state does not record that order (docs/differences.md). The
# whole figure is still printed and must not fall below what landed.
OVERALL_AT_LEAST = 464

pytestmark = pytest.mark.skipif(not (KIT / "check.sh").exists(), reason="no conformance kit beside the checkout")


def _run_check(url: str, glob: str, out: Path) -> str:
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out)}
    result = subprocess.run(["bash", str(KIT / "check.sh"), url, glob], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _figure(output: str) -> tuple[int, int]:
    match = re.search(r"^conformance: (\d+)/(\d+) steps match", output, re.M)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def test_recorded_scenarios_match(tmp_path: Path) -> None:
    app = create_app(Settings(fixtures=(str(KIT / "state"),)))
    with LiveServer(app) as server:
        for scenario in MUST_MATCH:
            matched, total = _figure(_run_check(server.url, scenario, tmp_path / scenario))
            report = (tmp_path / scenario / "report.md").read_text()
            assert matched == total, f"{scenario}: {matched}/{total}\n{report[:3000]}"
        app.store.reset()
        matched, total = _figure(_run_check(server.url, "*", tmp_path / "all"))
    print(f"\nconformance (all public scenarios): {matched}/{total} steps match")
    assert matched >= OVERALL_AT_LEAST
