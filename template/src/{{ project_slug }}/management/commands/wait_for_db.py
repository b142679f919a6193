import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.utils import OperationalError


class Command(BaseCommand):
    help = "Wait until the database accepts connections (bounded), so startup fails clearly."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60, help="seconds to wait at most")

    def handle(self, *args, timeout: float, **options):
        deadline = time.monotonic() + timeout
        name = connection.settings_dict.get("HOST") or connection.settings_dict.get("NAME")
        while True:
            try:
                connection.ensure_connection()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except OperationalError as exc:
                connection.close()
                if time.monotonic() >= deadline:
                    raise CommandError(
                        f"database {name} not reachable after {timeout:.0f}s: {exc}"
                    ) from exc
                self.stderr.write(f"waiting for database {name}: {str(exc).strip()[:200]}")
                time.sleep(1)
            else:
                self.stdout.write(f"database {name} is up")
                return
