"""CPU a request of a running server: wrk sends requests for a while, and the CPU time the
server's processes (the given one and its children) used is divided by the requests
served. For comparing two ways of serving the same app, one after the other:

    python tests/perf/server_cpu.py PID URL [--connections 8] [--seconds 12] [--header H]

It needs `wrk` (Debian's package). The figures count the server alone: PostgreSQL,
Redis and wrk are not in them."""

import argparse
import os
import re
import subprocess
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [pid, *(p for child in children.stdout.split() for p in process_tree(int(child)))]


def cpu_seconds(pid: int) -> float:
    """User and system time of the process and its children, in seconds."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # ended between the listing and the reading
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, connections: int, seconds: int, header: str | None) -> tuple[int, int]:
    """Requests served and how many of them were not 2xx or 3xx."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if header:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    served = int(re.search(r"(\d+) requests in", output).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return served, int(failed.group(1)) if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--header")
    args = parser.parse_args()
    wrk(args.url, 2, 3, args.header)  # warm-up
    before = cpu_seconds(args.pid)
    served, failed = wrk(args.url, args.connections, args.seconds, args.header)
    used = cpu_seconds(args.pid) - before
    print(
        f"{served} requests ({served / args.seconds:.0f}/s, {failed} not 2xx/3xx), "
        f"server CPU {used:.2f} s: {used / served * 1000:.3f} ms a request"
    )


if __name__ == "__main__":
    main()
