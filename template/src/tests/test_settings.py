"""The settings fail early and clearly when production configuration is missing."""

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 20 + "-production-key-with-enough-entropy-0123456789"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Only the process basics: none of the variables the test settings or .env provide.
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SRC,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_in_production_is_a_clear_error():
    result = run_manage("check", DATABASE_URL="sqlite:///x.sqlite3")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_missing_database_url_in_production_is_a_clear_error():
    result = run_manage("check", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not set" in result.stderr


def test_a_malformed_boolean_is_rejected():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_a_bucket_without_its_keys_is_a_clear_error():
    result = run_manage("check", DEBUG="true", BUCKET_NAME="media")
    assert result.returncode != 0
    assert "BUCKET_NAME is set: AWS_ACCESS_KEY_ID" in result.stderr


def test_media_go_to_the_bucket_only_when_one_is_configured():
    show = ["shell", "-c", "from django.conf import settings; print(settings.STORAGES['default'])"]
    on_disk = run_manage(*show, DEBUG="true")
    assert "FileSystemStorage" in on_disk.stdout, on_disk.stderr
    keys = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"}
    in_bucket = run_manage(
        *show, DEBUG="true", BUCKET_NAME="media", AWS_ENDPOINT_URL_S3="https://s3.test", **keys
    )
    assert "storages.backends.s3.S3Storage" in in_bucket.stdout, in_bucket.stderr
    assert "'bucket_name': 'media'" in in_bucket.stdout
    assert "'endpoint_url': 'https://s3.test'" in in_bucket.stdout


def test_debug_runs_without_any_environment():
    result = run_manage("check", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL="sqlite:///deploy-check.sqlite3",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_static_files_collect_and_compress_for_production(tmp_path):
    env = {"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "sqlite:///static-check.sqlite3"}
    env["STATIC_ROOT"] = str(tmp_path / "static")
    collected = run_manage("collectstatic", "--noinput", **env)
    assert collected.returncode == 0, collected.stderr
    compressed = run_manage("compress", "--force", **env)
    assert compressed.returncode == 0, compressed.stderr
    # compress run before collectstatic "succeeds" with 0 blocks; that must not pass.
    assert "Compressed 1 block(s)" in compressed.stdout, compressed.stdout
    assert (tmp_path / "static" / "staticfiles.json").is_file()
    assert list((tmp_path / "static" / "CACHE" / "css").glob("*.css"))


def test_a_weak_secret_key_is_refused_in_production():
    weak = {
        "the .env.example placeholder": "change-me",
        "Django's development prefix": "django-insecure-" + "q8Zx" * 12,
        "short": "a-random-but-short-key-0123456789",
        "few distinct characters": "ab" * 30,
    }
    for why, key in weak.items():
        result = run_manage("check", SECRET_KEY=key, DATABASE_URL="sqlite:///x.sqlite3")
        assert result.returncode != 0, why
        assert "SECRET_KEY is too weak for production" in result.stderr, (why, result.stderr)


def test_old_keys_for_rotation_come_from_the_environment_and_must_be_strong():
    show = ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"]
    old = "o" * 20 + "-the-key-before-the-rotation-0123456789"
    env = {"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "sqlite:///x.sqlite3"}
    shown = run_manage(*show, SECRET_KEY_FALLBACKS=f" {old} ,", **env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == repr([old])  # after the shell's own line
    weak = run_manage(*show, **{"SECRET_KEY_FALLBACKS": "change-me"}, **env)
    assert "SECRET_KEY_FALLBACKS is too weak for production" in weak.stderr


def test_the_admin_lives_where_admin_url_says_and_at_admin_by_default():
    show = ["shell", "-c", "from django.urls import reverse; print(reverse('admin:index'))"]
    moved = run_manage(*show, DEBUG="true", ADMIN_URL="/backstage-7f3a/")
    assert moved.stdout.strip().splitlines()[-1] == "/backstage-7f3a/", moved.stderr
    default = run_manage(*show, DEBUG="true")
    assert default.stdout.strip().splitlines()[-1] == "/admin/", default.stderr
