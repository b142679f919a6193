import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import OperationalError


class Command(BaseCommand):
    help = "Wait (bounded) until the database answers and, with --migrated, is migrated."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60, help="seconds to wait at most")
        parser.add_argument(
            "--migrated", action="store_true", help="also wait until no migration is pending"
        )

    def handle(self, *args, timeout: float, migrated: bool, **options):
        name = connection.settings_dict.get("HOST") or connection.settings_dict.get("NAME")
        deadline = time.monotonic() + timeout
        while True:
            problem = self._problem(migrated)
            if problem is None:
                self.stdout.write(f"database {name} is ready")
                return
            if time.monotonic() >= deadline:
                raise CommandError(f"database {name} not ready after {timeout:.0f}s: {problem}")
            self.stderr.write(f"waiting for database {name}: {problem}")
            time.sleep(1)

    def _problem(self, migrated: bool) -> str | None:
        """What keeps the database from being ready, or None."""
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if migrated:
                executor = MigrationExecutor(connection)
                pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
                if pending:
                    return f"{len(pending)} migration(s) not applied yet"
        except OperationalError as exc:
            connection.close()
            return str(exc).strip()[:200]
        return None
