"""The project has its own user model from the first migration."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
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


def test_a_session_signed_with_the_old_key_survives_its_rotation(settings):
    """The rotation the manual describes: the new key in SECRET_KEY, the old one in
    SECRET_KEY_FALLBACKS. A signed-in user stays signed in, and their session moves to the new
    key at its next request (Django rewrites its hash); without the fallback, a session signed
    with the old key is void."""
    admin = User.objects.create_superuser("rota", "rota@example.com", "a long password")
    kept, dropped = Client(), Client()
    kept.force_login(admin)
    dropped.force_login(admin)
    page = reverse("admin:index")
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "n" * 20 + "-the-key-after-the-rotation-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old]
    assert kept.get(page).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert kept.get(page).status_code == 200  # moved to the new key by its last request
    assert dropped.get(page).status_code == 302  # to the sign-in page: its session is void


def test_sign_ins_past_the_failure_limit_are_refused_even_with_the_right_password(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_superuser("target", "target@example.com", "the right password")
    sign_in = reverse("admin:login")
    for _ in range(2):
        wrong = client.post(sign_in, {"username": "target", "password": "a guess"})
        assert wrong.status_code == 200  # the form again, with its error
    third = client.post(sign_in, {"username": "target", "password": "a guess"})
    assert third.status_code == 429  # the limit reached: locked out from here
    right = client.post(sign_in, {"username": "target", "password": "the right password"})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
