"""`migrate`, after adopting a database made before accounts.User existed.

Projects made by start-django v0.1.0 keep their users in auth.User's table, `auth_user`.
accounts.User takes that table over as it is (same name, same columns, 32-bit ids): no row
is copied, every user keeps their password. What Django cannot see by itself is that the
accounts app's first migration is then in place already: without a record of it, `migrate`
refuses the history ("admin.0001_initial is applied before its dependency
accounts.0001_initial"). So, before migrating, a database whose auth app is migrated and
whose accounts app is not gets that record, and auth's user content type (with the
permissions and admin log entries that point at it) becomes accounts'; in one transaction.
Every path that migrates (web.sh, Fly's release_command, the Swarm job, `just`, the test
runner) runs this command, since an app's command replaces Django's own of the same name.

On PostgreSQL, the statement timeout that guards requests (DATABASE_STATEMENT_TIMEOUT) is
lifted while migrating: building an index on a large table may rightly take longer.
"""

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections, transaction
from django.db.migrations.recorder import MigrationRecorder

ADOPTED = ("accounts", "0001_initial")


def adopt_auth_user(alias: str) -> bool:
    """Record accounts' first migration where auth_user is already the users' table; True
    when it did."""
    connection = connections[alias]
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return False  # a new database: migrate creates everything
    applied = recorder.applied_migrations()
    if ADOPTED in applied or ("auth", "0001_initial") not in applied:
        return False
    tables = connection.introspection.table_names()
    if "auth_user" not in tables:
        return False
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        recorder.record_applied(*ADOPTED)
        if "django_content_type" in tables:
            cursor.execute(
                "UPDATE django_content_type SET app_label = 'accounts'"
                " WHERE app_label = 'auth' AND model = 'user' AND NOT EXISTS"
                " (SELECT 1 FROM django_content_type"
                " WHERE app_label = 'accounts' AND model = 'user')"
            )
    return True


class Command(MigrateCommand):
    help = MigrateCommand.help + " Adopts a v0.1.0 database's auth_user table first."

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
        try:
            if adopt_auth_user(options["database"]):
                self.stdout.write("migrate: auth_user's users are accounts.User's now")
            super().handle(*args, **options)
        finally:
            if connection.vendor == "postgresql" and connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("RESET statement_timeout")
