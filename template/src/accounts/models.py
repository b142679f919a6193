from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user (settings.AUTH_USER_MODEL). It adds nothing yet: having it from the
    first migration is what lets it grow fields later without rewriting the database.

    Its table is `auth_user`, the one auth.User had: projects made before this model existed
    keep their users there (accounts/management/commands/migrate.py adopts them)."""

    class Meta(AbstractUser.Meta):
        db_table = "auth_user"
