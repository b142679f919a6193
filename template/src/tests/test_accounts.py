"""The project has its own user model from the first migration."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_user_model_is_the_projects_own():
    assert get_user_model() is User
    # The table auth.User had: a database made before this model keeps its users
    # (accounts/management/commands/migrate.py).
    assert User._meta.db_table == "auth_user"


def test_a_superuser_can_be_created_and_listed_in_the_admin(admin_client):
    User.objects.create_user("ada", "ada@example.com", "a long password")
    response = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200
    assert "ada" in response.text
