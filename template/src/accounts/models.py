from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user (settings.AUTH_USER_MODEL). It adds nothing yet: having it from the
    first migration is what lets it grow fields later without rewriting the database."""
