"""A row lock takes only the rows it means to. `select_for_update()` on a query that also
joins related rows (`select_related`) locks those too, FOR UPDATE, unless it names its
own rows with `of=`: joined people's account rows, locked that way, made an offer's
accept deadlock with a coordinator's roster, an SMS hold its recipient's row while the
provider answered, and the shop runs' waitlist skip a person (tests/locks.py and the
tests that use it). This keeps new code from doing it again."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["backend", "dispatch", "mobile_api", "webapp"]


def _chain(call: ast.Call) -> list[ast.Call]:
    """The method calls of `a.b(...).c(...).d(...)`, outermost first."""
    calls = []
    node: ast.AST = call
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        calls.append(node)
        node = node.func.value
    return calls


def locks_taking_joined_rows(root: Path = ROOT, packages: list[str] = PACKAGES) -> list[str]:
    found = set()
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Call):
                    continue
                calls = _chain(node)
                names = {call.func.attr for call in calls}
                if not {"select_for_update", "select_related"} <= names:
                    continue
                for call in calls:
                    if call.func.attr == "select_for_update" and not any(
                        keyword.arg == "of" for keyword in call.keywords
                    ):
                        found.add(f"{path.relative_to(root)}:{call.lineno}")
    return sorted(found)


def test_a_lock_on_a_query_with_joined_rows_names_the_rows_it_locks():
    assert locks_taking_joined_rows() == []


def test_the_check_finds_such_a_lock(tmp_path):
    package = tmp_path / "backend"
    package.mkdir()
    (package / "services.py").write_text(
        "def f():\n"
        "    return Offer.objects.select_for_update().select_related('driver').get(pk=1)\n"
        "def g():\n"
        "    return Offer.objects.select_for_update(of=('self',)).select_related('driver')\n"
    )
    assert locks_taking_joined_rows(tmp_path, ["backend"]) == ["backend/services.py:2"]
