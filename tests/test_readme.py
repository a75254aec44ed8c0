"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README lost its Python example"
    monkeypatch.chdir(Path(__file__).parent)  # where tests/airflow_fixtures would live
    namespace: dict[str, object] = {}
    code = blocks[0].replace('"tests/airflow_fixtures"', '"fixtures/minimal"')
    exec(compile(code, "README.md", "exec"), namespace)
    test = next(value for name, value in namespace.items() if name.startswith("test_"))
    test()  # type: ignore[operator]
