"""The vendored spec: intact, parsed once per process, and corrected only where documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mockflow import Settings, create_app
from mockflow.spec import AIRFLOW_2_5_3, load_spec, read_vendored_text
from mockflow.spec.patches import NULL_BRANCH

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "airflow-2.5.3-v1.yaml"


def test_vendored_spec_keeps_its_apache_header() -> None:
    text = read_vendored_text()
    assert text.startswith("# Licensed to the Apache Software Foundation (ASF) under one")
    assert "http://www.apache.org/licenses/LICENSE-2.0" in text


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference copy is not beside the checkout")
def test_vendored_spec_is_the_official_file_unchanged() -> None:
    assert read_vendored_text() == REFERENCE.read_text(encoding="utf-8")


def test_vendored_spec_is_a_valid_openapi_document() -> None:
    # The app skips openapi-core's spec check at start-up (it costs ~0.3 s); this test does it once.
    from openapi_spec_validator import validate

    validate(yaml.safe_load(read_vendored_text()))


def test_all_73_operations_are_indexed() -> None:
    assert len(load_spec().operations) == 73


def test_spec_is_parsed_once_per_process() -> None:
    assert load_spec() is load_spec() is load_spec(AIRFLOW_2_5_3)
    first = create_app(Settings(fixtures=(str(Path(__file__).parent / "fixtures" / "minimal"),)))
    second = create_app(Settings(fixtures=(str(Path(__file__).parent / "fixtures" / "minimal"),)))
    # one parsed spec, one bundle and one router for every app (timings live in benchmarks/bench.py)
    assert first.bundles[0].spec is second.bundles[0].spec is load_spec()
    assert first.bundles == second.bundles
    assert first.router is second.router


def test_nullable_refs_become_nullable_copies() -> None:
    schemas = load_spec().schemas
    state = schemas["TaskInstance"]["properties"]["state"]
    assert None in state["enum"] and state["nullable"] is True
    assert schemas["TaskInstance"]["properties"]["sla_miss"]["nullable"] is True


def test_schedule_interval_admits_null() -> None:
    schedule = load_spec().schemas["ScheduleInterval"]
    assert NULL_BRANCH in schedule["anyOf"]
    assert "discriminator" not in schedule


def test_error_title_and_detail_admit_null() -> None:
    error = load_spec().schemas["Error"]["properties"]
    assert error["title"]["nullable"] is True and error["detail"]["nullable"] is True
