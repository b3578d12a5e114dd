import json

from django.core.management.base import BaseCommand, CommandParser

from backend.task_deliveries import dead_letters


class Command(BaseCommand):
    help = (
        "Print the dead-lettered Celery tasks (failed for good, or redelivered too often "
        "because they kill their worker), newest first, one JSON object a line. Run one "
        "again by hand with `celery -A backend call <task> --args '<task_args>'` once "
        "its cause is fixed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="at most this many")

    def handle(self, *args, **options) -> None:
        for entry in dead_letters(limit=options["limit"]):
            self.stdout.write(json.dumps(entry, ensure_ascii=False))
