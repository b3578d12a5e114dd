"""infra/docker-compose.yml as Docker Compose reads it: with infra/env.example filled in
(and the secrets an operator adds), `${NAME}`, `${NAME:-default}` and `${NAME:?error}`
replaced in every value, after the YAML is read, as Compose does."""

import re
import secrets
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def env_example() -> dict[str, str]:
    """infra/env.example's values, with the secrets it leaves empty filled in."""
    values = {}
    for line in (ROOT / "infra/env.example").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    values.update(SECRET_KEY=secrets.token_urlsafe(50), POSTGRES_PASSWORD=secrets.token_urlsafe(20))
    return values


def compose_filled(env: dict[str, str]) -> dict:
    """The compose file with `env` filled in. A value that was only a variable and
    became a whole number is a number, as Compose casts `replicas: ${WEB_REPLICAS:-3}`."""

    def fill(match: re.Match) -> str:
        name, mode, default = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name, "")
        if mode == "?" and not value:
            raise AssertionError(f"{name} is required by docker-compose.yml")
        return value or (default if mode == "-" else "")

    def walk(node):
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        if isinstance(node, str) and "${" in node:
            filled = _VARIABLE.sub(fill, node)
            return int(filled) if _VARIABLE.fullmatch(node) and filled.isdigit() else filled
        return node

    return walk(yaml.safe_load((ROOT / "infra/docker-compose.yml").read_text()))
