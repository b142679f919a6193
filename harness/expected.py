"""Which files each combination must have, and must not: the render tests check it, the
update tests (an answer changed adds and removes exactly these) and the manual's answer table
are compared with it."""

from __future__ import annotations

from harness.combinations import Combination


def expected_files(c: Combination, slug: str) -> dict[str, bool]:
    """Path -> whether this combination must have it (False: must not)."""
    return {
        ".copier-answers.yml": True,
        ".github/workflows/ci.yml": True,
        ".github/dependabot.yml": True,
        ".github/workflows/template-update.yml": True,
        ".pre-commit-config.yaml": True,
        ".gitignore": True,
        ".python-version": True,
        "README.md": True,
        "compose.yaml": True,
        "compose.engine-before-25.yaml": True,
        "stack.yaml": True,
        "stack.https.yaml": True,
        "justfile": True,
        "src/.dockerignore": True,
        "src/manage.py": True,
        "src/pyproject.toml": True,
        "src/config/settings.py": True,
        "src/scripts/run.sh": True,
        "src/scripts/web.sh": True,
        "src/scripts/healthcheck.py": True,
        "src/scripts/migration_check.py": True,
        "src/accounts/management/commands/migrate.py": True,
        "src/.python-version": True,
        "src/config/logs.py": True,
        "src/config/gunicorn.py": True,
        "src/accounts/models.py": True,
        "src/accounts/admin.py": True,
        "src/accounts/migrations/0001_initial.py": True,
        "src/tests/test_errors.py": True,
        "src/tests/test_tasks.py": True,
        "src/tests/test_readme.py": True,
        f"src/{slug}/tasks.py": True,
        f"src/{slug}/templates/500.html": True,
        f"src/{slug}/models.py": True,
        f"src/{slug}/health.py": True,
        f"src/{slug}/migrations/0001_initial.py": True,
        "deploy/pg/Dockerfile": c.use_postgres,
        "deploy/sq/Dockerfile": c.use_sqlite,
        "src/scripts/check_sqlite.py": c.use_sqlite,
        "src/tests/test_database_timeouts.py": c.use_postgres,
        "src/litestream.yml": c.use_litestream,
        "src/scripts/restore_check.py": c.use_litestream,
        "src/scripts/worker.sh": c.use_huey,
        "src/scripts/together.sh": c.use_huey,
        f"src/{slug}/management/commands/requeue_stale_entries.py": c.use_huey,
        "compose.debug.yaml": c.get("debugpy"),
        ".vscode/launch.json": c.get("debugpy"),
        ".env.example": c.get("secrets") == "dotenv",
        ".env.op": c.get("secrets") == "1password",
        ".env.fly.op": c.get("secrets") == "1password" and c.get("fly"),
        "fly.toml": c.get("fly"),
    }
