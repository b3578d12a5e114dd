"""Static files as production collects them: the manifest storage rewrites every
`sourceMappingURL` to the hashed name of the map, and stops `collectstatic` (so the
Docker build and every deploy) when the map is not there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_MAP = re.compile(rb"[#@] sourceMappingURL=(\S+?)\s*(?:\*/)?\s*$", re.MULTILINE)


def test_every_source_map_a_static_file_names_is_there():
    missing = []
    # The apps' own files; var/static is collectstatic's output.
    for static in (p for p in ROOT.glob("*/static") if p.parent.name not in {"var", ".venv"}):
        for path in [*static.rglob("*.js"), *static.rglob("*.css")]:
            for name in SOURCE_MAP.findall(path.read_bytes()):
                if not name.startswith(b"data:") and not (path.parent / name.decode()).exists():
                    missing.append(f"{path.relative_to(ROOT)} -> {name.decode()}")
    assert missing == []
