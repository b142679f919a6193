"""Migrate a database from an earlier commit to this one without losing anything: CI's
`migrations` job runs it on every pull request, and on the template-update branch.

    cd ../base/src && uv run python ../../head/src/scripts/migration_check.py write rows.json
    cd src && uv run python manage.py migrate && uv run python scripts/migration_check.py verify rows.json

`write`, with the base commit's code, migrated: a user (through the models), then every
table's row count, into the file. `verify`, with this commit's code after `migrate`: every
table has at least the rows it had, the user signs in with the same password, no migration is
pending, and no migration the database applied is gone from the code (a migration removed or
renamed leaves the database on a history the code no longer knows). `migrate` itself fails
on an inconsistent history or a failing migration. Exit 1 with the problems found.
"""

import json
import os
import sys
from pathlib import Path

USERNAME = "migration-check"
PASSWORD = "migration-check-password"  # a throwaway CI database only


def setup() -> None:
    sys.path.insert(0, os.getcwd())  # the project whose settings apply: this folder's
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def row_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # names from the catalog
            counts[table] = cursor.fetchone()[0]
    return counts


def write(path: Path) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if not users.filter(username=USERNAME).exists():
        users.create_user(USERNAME, password=PASSWORD)
    path.write_text(json.dumps(row_counts(), indent=1))
    print(f"migration_check: {len(row_counts())} tables counted into {path}")


def problems(path: Path) -> list[str]:
    from django.contrib.auth import authenticate
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    found = []
    before, after = json.loads(path.read_text()), row_counts()
    for table, rows in sorted(before.items()):
        if after.get(table, 0) < rows:
            found.append(f"{table}: {rows} rows before, {after.get(table, 0)} after")
    if authenticate(username=USERNAME, password=PASSWORD) is None:
        found.append(f"the user {USERNAME!r} no longer signs in with their password")
    executor = MigrationExecutor(connection)
    if pending := executor.migration_plan(executor.loader.graph.leaf_nodes()):
        found.append(f"{len(pending)} migration(s) still pending: {pending[0][0]}")
    loader = executor.loader
    known = set(loader.disk_migrations) | {
        replaced for migration in loader.disk_migrations.values() for replaced in migration.replaces
    }  # a squashed migration stands for those it replaces
    gone = sorted(k for k in set(loader.applied_migrations) - known if k[0] in loader.migrated_apps)
    found += [f"{app}.{name} is applied in the database but gone from the code" for app, name in gone]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"write", "verify"}:
        print(__doc__, file=sys.stderr)
        return 2
    setup()
    if argv[0] == "write":
        write(Path(argv[1]))
        return 0
    if found := problems(Path(argv[1])):
        print("migration_check: the migration from the base commit loses or breaks:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("migration_check: every row kept, the user signs in, the history is whole")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
