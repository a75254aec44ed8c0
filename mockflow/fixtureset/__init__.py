"""Fixture sets: directories of API-shaped files, read, checked and loaded into a store's `State`.

One module per concern; the store never imports this package, this package builds on the store.

| module | what it owns |
| --- | --- |
| `files.py` | reading a file (strict YAML, JSON); `Problem`, `FixtureError` (file, key path, line); the default set |
| `schemas.py` | what each file must look like (the spec's schemas plus mockflow's own keys) |
| `refs.py` | reference checks: everything an object names must exist |
| `layers.py` | finding the files of several sets and layering them (a later set wins) |
| `loaders.py` | one loader per resource, and `LOADERS`, the ordered table of them |
| `dags.py` | loading `dags/<dag_id>` files: the DAG, tasks, runs, task instances, XComs, logs |
| `load.py` | `check_fixture_sets`, `load_fixture_sets`: the whole load, all or nothing |
| `cache.py` | frozen seeds by file fingerprint, in this process and beside the bytecode (`seeded_store`) |
| `export.py` | writing a live `State` back as a fixture set |
| `builders.py` | builders of fixture objects in the real server's wire shapes |
| `generate/` | `mockflow generate`: large, realistic, deterministic sets |
| `capture.py` | `mockflow capture`: a live Airflow read into a set |
"""
