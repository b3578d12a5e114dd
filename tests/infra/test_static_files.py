"""Static files as production collects them: the manifest storage rewrites every
`sourceMappingURL` to the hashed name of the map, and stops `collectstatic` (so the
Docker build and every deploy) when the map is not there; and as `make run` collects
them, afresh."""

import gzip
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

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


@pytest.mark.django_db
def test_make_run_collects_the_static_files_afresh(tmp_path, settings):
    """WhiteNoise serves a file's compressed sibling when the browser takes gzip. The load
    test and the multi-process layout collect into the same folder with production's
    storage; a plain collect after them replaced the scripts but kept their old .gz, so
    `make run` served yesterday's script. The command infra/run.sh runs must clear them."""
    [line] = [
        line
        for line in (ROOT / "infra" / "run.sh").read_text().splitlines()
        if line.startswith("manage collectstatic")
    ]
    stale = tmp_path / "webapp" / "map.js.gz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(gzip.compress(b"// the script as it was"))
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("collectstatic", *shlex.split(line)[2:])
    assert not stale.exists()
    assert (tmp_path / "webapp" / "map.js").read_bytes() == (
        ROOT / "webapp" / "static" / "webapp" / "map.js"
    ).read_bytes()
