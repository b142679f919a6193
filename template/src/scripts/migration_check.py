"""Migrate a database from an earlier commit to this one without losing anything: CI's
`migrations` job runs it on every pull request, and on the template-update branch.

    cd ../base/src                            # the base commit's checkout, migrated
    uv run python ../../head/src/scripts/migration_check.py write rows.json
    cd ../../head/src && uv run python manage.py migrate
    uv run python scripts/migration_check.py verify rows.json

`write`, with the base commit's code, migrated: a user with a fresh password (through the
models), then the password and every table's row count, into the file. `verify`, with this
commit's code after `migrate`: every table has at least the rows it had, the user signs in
with the same password, no migration is pending, and no migration the database applied is
gone from the code (a migration removed or renamed leaves the database on a history the code
no longer knows). `migrate` itself fails on an inconsistent history or a failing migration.
Exit 1 with the problems found.
"""

import json
import os
import secrets
import sys
from pathlib import Path

USERNAME = "migration-check"


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
            # Table names from the database's own catalog, quoted: nothing from outside.
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def write(path: Path) -> None:
    from django.contrib.auth import get_user_model

    password = secrets.token_urlsafe(16)
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.set_password(password)
    user.save()
    rows = row_counts()
    path.write_text(json.dumps({"password": password, "rows": rows}, indent=1))
    print(f"migration_check: {len(rows)} tables counted into {path}")


def problems(path: Path) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    found = []
    written, after = json.loads(path.read_text()), row_counts()
    for table, rows in sorted(written["rows"].items()):
        if after.get(table, 0) < rows:
            found.append(f"{table}: {rows} rows before, {after.get(table, 0)} after")
    # The password hash itself (authenticate() would also ask django-axes for a request).
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None or not user.check_password(written["password"]):
        found.append(f"the user {USERNAME!r} no longer signs in with their password")
    executor = MigrationExecutor(connection)
    if pending := executor.migration_plan(executor.loader.graph.leaf_nodes()):
        found.append(f"{len(pending)} migration(s) still pending: {pending[0][0]}")
    loader = executor.loader
    known = set(loader.disk_migrations) | {
        replaced for migration in loader.disk_migrations.values() for replaced in migration.replaces
    }  # a squashed migration stands for those it replaces
    applied = set(loader.applied_migrations) - known
    for app, name in sorted(k for k in applied if k[0] in loader.migrated_apps):
        found.append(f"{app}.{name} is applied in the database but gone from the code")
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
        print("migration_check: migrating from the base commit loses or breaks:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("migration_check: every row kept, the user signs in, the history is whole")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
