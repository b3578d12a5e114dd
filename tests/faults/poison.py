"""A task that kills the worker process running it, every time: a poison message. Loaded
only into the worker of tests/faults/test_poison.py (`--include`)."""

import os
import signal

from celery import shared_task


@shared_task(name="tests.faults.poison.die")
def die(marker: str) -> None:
    with open(marker, "a") as handle:
        handle.write("started\n")
    os.kill(os.getpid(), signal.SIGKILL)
