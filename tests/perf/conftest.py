"""Benchmarks live in `bench_*.py`, so `make test` never collects them by name; this
collects them when pytest is pointed at tests/perf (as `make bench` does)."""

import pytest


def pytest_collect_file(file_path, parent):
    # A file named on the command line is collected by pytest itself.
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
