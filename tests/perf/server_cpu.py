"""CPU a request of a running server: wrk sends requests for a while, and the CPU time the
server's processes (the given one and its children, counted as the load test counts
them) used is divided by the requests served. For comparing two ways of serving the
same app, one after the other:

    python -m tests.perf.server_cpu PID URL [--connections 8] [--seconds 12] [--header H]

It needs `wrk` (Debian's package). The figures count the server alone: PostgreSQL,
Redis and wrk are not in them."""

import argparse
import re
import subprocess

from tests.perf._servers import cpu_seconds_of_tree


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
    before = cpu_seconds_of_tree(args.pid)
    served, failed = wrk(args.url, args.connections, args.seconds, args.header)
    used = cpu_seconds_of_tree(args.pid) - before
    print(
        f"{served} requests ({served / args.seconds:.0f}/s, {failed} not 2xx/3xx), "
        f"server CPU {used:.2f} s: {used / served * 1000:.3f} ms a request"
    )


if __name__ == "__main__":
    main()
