"""Read pip-audit's JSON report: fail on known vulnerabilities, warn (and pass) when the
vulnerability database could not be reached. Used by infra/audit.sh.

    python infra/audit_report.py var/pip-audit.json <pip-audit exit code>
"""

import json
import sys


def verdict(report_path: str, pip_audit_rc: int) -> tuple[int, list[str]]:
    """(exit code, lines to print). Lines starting with ! are warnings."""
    try:
        with open(report_path) as handle:
            dependencies = json.load(handle)["dependencies"]
    except (OSError, ValueError, KeyError):
        return 0, [
            f"! dependency audit could not reach the vulnerability database (pip-audit exit "
            f"{pip_audit_rc}); skipped. See var/pip-audit.log."
        ]
    audited = [d for d in dependencies if "skip_reason" not in d]
    found = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
    if found:
        lines = [
            f"✗ {name} {version}: {vuln['id']} (fixed in "
            f"{', '.join(vuln.get('fix_versions', [])) or 'no release yet'})"
            for name, version, vuln in found
        ]
        return 1, [*lines, f"✗ {len(found)} known vulnerabilities in requirements.lock"]
    if not audited:
        return 0, [
            "! dependency audit: the vulnerability database could not be reached "
            "(no package could be looked up); skipped."
        ]
    lines = []
    if len(audited) < len(dependencies):
        lines.append(
            f"! dependency audit: {len(dependencies) - len(audited)} of {len(dependencies)} "
            "packages could not be looked up"
        )
    return 0, [*lines, f"✓ no known vulnerabilities in the {len(audited)} packages audited"]


def main() -> int:
    code, lines = verdict(sys.argv[1], int(sys.argv[2]))
    for line in lines:
        print(line, file=sys.stderr if line[0] in "!✗" else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
