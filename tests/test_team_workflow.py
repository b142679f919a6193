"""The generated project's team habits: its CI workflow lints clean under actionlint for every
combination, its pre-commit hooks run offline, and secrets stay out of git."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.combinations import all_combinations, one
from harness.commands import free_port, run, tool, uv_env, wait_until
from harness.http import get
from harness.levels import members
from harness.renders import digest

COMBINATIONS = all_combinations()


@pytest.mark.proof("linted")
@pytest.mark.parametrize("combo", members("linted"), ids=lambda c: c.id)
def test_workflows_pass_actionlint_and_zizmor(combo, render, checks, actionlint):
    """actionlint, and zizmor at every severity (an ignore in a workflow states its reason)."""
    folder = render(combo) / ".github/workflows"
    workflows = sorted(folder.glob("*.yml"))
    assert [w.name for w in workflows] == ["ci.yml", "template-update.yml"]
    for workflow in workflows:
        key = digest(workflow.read_bytes())
        verdict = checks.get("actionlint", key, lambda w=workflow: actionlint(w))
        assert verdict.returncode == 0, verdict.output
    both = digest(b"".join(w.read_bytes() for w in workflows))
    audited = checks.get("zizmor", both, lambda: run([tool("zizmor"), "--offline", "--no-progress", str(folder)]))  # fmt: skip
    assert audited.returncode == 0 and "No findings to report" in audited.output, audited.output
    for line in (line for w in workflows for line in w.read_text().splitlines()):
        if "zizmor: ignore" in line:
            assert re.search(r"zizmor: ignore\[[a-z-]+\] \S", line), (
                f"an ignore without its reason: {line}"
            )


def test_actionlint_catches_a_broken_workflow(tmp_path, actionlint):
    broken = tmp_path / "ci.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nope.x }}\n"
    )
    assert actionlint(broken).returncode == 1


def test_ci_workflow_tests_the_chosen_database_and_broker(render):
    both = (
        render(one(database="both", worker="huey", worker_broker="redis"))
        / ".github/workflows/ci.yml"
    ).read_text()
    assert "database: [postgres, sqlite]" in both and "image: redis:8" in both
    assert "image: postgres:17" in both and "profile: [pg, sq]" in both
    lean = (render(one(database="sqlite", worker="none")) / ".github/workflows/ci.yml").read_text()
    assert "services:" not in lean and "profile: [sq]" in lean


def git_init(project: Path) -> None:
    for args in (["init", "--quiet"], ["add", "-A"]):
        result = run(["git", *args], cwd=project)
        assert result.returncode == 0, result.output


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_just_env_writes_fresh_secrets_and_never_overwrites(project_copy, database, tmp_path):
    project = project_copy(one(database=database, secrets="dotenv"))
    env_file = project / ".env"
    env_file.unlink(missing_ok=True)
    first = run([tool("just"), "env"], cwd=project)
    assert first.returncode == 0, first.output
    values = dict(
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert len(values["SECRET_KEY"]) >= 50 and values["SECRET_KEY"] != "change-me"
    if database == "postgres":
        assert len(values["POSTGRES_PASSWORD"]) >= 32
    assert env_file.stat().st_mode & 0o077 == 0, ".env is readable by its owner only"
    before = env_file.read_text()
    again = run([tool("just"), "env"], cwd=project)
    assert again.returncode == 0 and "left as it is" in again.stdout
    assert env_file.read_text() == before
    # A second project gets a different key.
    other = tmp_path / "other"
    other.mkdir()
    (other / ".env.example").write_text((project / ".env.example").read_text())
    (other / "justfile").write_text((project / "justfile").read_text())
    assert run([tool("just"), "env"], cwd=other).returncode == 0
    assert values["SECRET_KEY"] not in (other / ".env").read_text()


def test_just_env_with_1password_and_no_op_cli_fails_clearly(project_copy):
    project = project_copy(one(secrets="1password"))
    (project / ".env").unlink(missing_ok=True)
    path = ":".join(p for p in os.environ["PATH"].split(":") if not (Path(p) / "op").exists())
    result = run([tool("just"), "env"], cwd=project, env={**os.environ, "PATH": path})
    assert result.returncode != 0
    assert "the 1Password CLI (op) is not installed" in result.stderr
    assert not (project / ".env").exists()


def test_1password_template_holds_references_not_secrets(render):
    text = (render(one(secrets="1password", database="postgres")) / ".env.op").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        assert re.search(rf'^{name}="op://[^"]+"$', text, re.MULTILINE), name


def test_1password_production_takes_other_items_than_this_machine(render):
    project = render(one(secrets="1password", fly=True))
    local = set(re.findall(r"op://[^\"\s]+", (project / ".env.op").read_text()))
    production_file = (project / ".env.fly.op").read_text()
    production = set(re.findall(r"op://[^\"\s]+", production_file))
    assert production and not local & production, (local, production)
    assert not re.search(r"^SECRET_KEY=", production_file, re.MULTILINE), "made per app instead"


@pytest.mark.parametrize("secrets", ["dotenv", "1password"])
def test_env_files_are_ignored_and_no_secret_is_tracked(project_copy, secrets):
    project = project_copy(one(secrets=secrets, database="both"))
    env_file = project / ".env"
    secret = "s3cr3t-" + digest(secrets) * 3
    env_file.write_text(f"SECRET_KEY={secret}\nPOSTGRES_PASSWORD={secret}-pg\n")
    (project / "src" / ".env").write_text(f"SECRET_KEY={secret}\n")
    git_init(project)
    for rel in (".env", "src/.env"):
        assert run(["git", "check-ignore", "--quiet", rel], cwd=project).returncode == 0, rel
    tracked = run(["git", "ls-files"], cwd=project).stdout.split()
    assert tracked and ".env" not in tracked and "src/.env" not in tracked
    for rel in tracked:
        assert secret not in (project / rel).read_text(errors="replace"), rel
    dockerignore = (project / "src/.dockerignore").read_text().splitlines()
    assert ".env" in dockerignore and ".env.*" in dockerignore


def test_pre_commit_hooks_pass_offline(project_copy, tmp_path):
    project = project_copy(one(database="both", worker="huey", worker_broker="redis"))
    env = {**uv_env(), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    for cmd in (["uv", "lock"], ["uv", "sync", "--locked"]):
        result = run(cmd, cwd=project / "src", env=env)
        assert result.returncode == 0, result.output
    git_init(project)
    env["UV_OFFLINE"] = "1"  # hooks may not reach the network
    result = run(
        ["uv", "run", "--project", "src", "pre-commit", "run", "--all-files"], cwd=project, env=env
    )
    assert result.returncode == 0, result.output
    for hook in ("files end with one newline", "no trailing whitespace", "YAML parses",
                 "TOML parses", "no merge-conflict markers", "no private keys",
                 "ruff check", "ruff format", "shellcheck", "hadolint"):  # fmt: skip
        assert re.search(rf"^{hook}\.+Passed$", result.stdout, re.MULTILINE), result.output

    # Each hygiene hook fails on what it is there for.
    notes = project / "NOTES.txt"
    for planted, hook in (
        ("a line with a trailing space \nend\n", "no trailing whitespace"),
        ("no final newline", "files end with one newline"),
        ("<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n", "no merge-conflict markers"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n", "no private keys"),
    ):
        notes.write_text(planted)
        run(["git", "add", "NOTES.txt"], cwd=project)
        caught = run(["uv", "run", "--project", "src", "pre-commit", "run", "--files", "NOTES.txt"],
                     cwd=project, env=env)  # fmt: skip
        assert caught.returncode != 0, caught.output
        assert re.search(rf"^{hook}\.+Failed$", caught.stdout, re.MULTILINE), caught.output


def ci_step(workflow: dict, job: str, starts: str) -> dict:
    """The one step of a job whose `run` starts with `starts`."""
    steps = [s for s in workflow["jobs"][job]["steps"] if s.get("run", "").startswith(starts)]
    assert len(steps) == 1, steps
    return steps[0]


def test_ci_fails_a_model_change_without_its_migration(project_copy):
    """The CI step `makemigrations --check` run as the workflow runs it: clean on the render,
    failing once a model gains a field and no migration."""
    project = project_copy(one(database="sqlite", worker="none"))
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    step = ci_step(workflow, "test", "uv run python manage.py makemigrations --check")
    src = project / step["working-directory"]
    env = {**uv_env(), **step["env"], "DATABASE_URL": f"sqlite:///{project}/ci.sqlite3"}
    assert run(["uv", "sync"], cwd=src, env=env).returncode == 0
    clean = run(["bash", "-c", step["run"]], cwd=src, env=env)
    assert clean.returncode == 0, clean.output
    models = src / answers_slug(project) / "models.py"
    models.write_text(models.read_text().replace(
        "class Entry(models.Model):\n",
        "class Entry(models.Model):\n    rating = models.IntegerField(default=0)\n",
    ))  # fmt: skip
    missing = run(["bash", "-c", step["run"]], cwd=src, env=env)
    assert missing.returncode != 0 and "rating" in missing.output, missing.output


def answers_slug(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["project_slug"]


@pytest.mark.parametrize("combo", COMBINATIONS[:: max(1, len(COMBINATIONS) // 12)],
                         ids=lambda c: c.id)  # fmt: skip
def test_ci_runs_the_chosen_python_once_per_ref_within_time_limits(combo, render):
    project = render(combo)
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    python = (project / "src" / ".python-version").read_text().strip()
    assert workflow["concurrency"]["cancel-in-progress"] is True
    for name, job in workflow["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 30, name
        for step in job["steps"]:
            if step.get("uses", "").startswith("astral-sh/setup-uv"):
                assert step["with"]["python-version"] == python, name


@pytest.mark.parametrize("combo", COMBINATIONS[:: max(1, len(COMBINATIONS) // 12)],
                         ids=lambda c: c.id)  # fmt: skip
def test_dependabot_watches_every_pin_the_project_has(combo, render):
    """uv's lock, each Dockerfile, compose's images, the workflow's actions and pre-commit:
    each directory dependabot is told about holds what that ecosystem reads."""
    project = render(combo)
    config = yaml.safe_load((project / ".github/dependabot.yml").read_text())
    reads = {"uv": "pyproject.toml", "docker": "Dockerfile", "docker-compose": "compose.yaml",
             "github-actions": ".github/workflows/ci.yml", "pre-commit": ".pre-commit-config.yaml"}  # fmt: skip
    seen = {}
    for update in config["updates"]:
        ecosystem = update["package-ecosystem"]
        for directory in update.get("directories") or [update["directory"]]:
            assert (project / directory.lstrip("/") / reads[ecosystem]).is_file(), (
                ecosystem,
                directory,
            )
            seen.setdefault(ecosystem, []).append(directory)
    assert seen.keys() == reads.keys()
    dockerfiles = sorted(
        f"/{p.parent.relative_to(project)}" for p in project.glob("deploy/*/Dockerfile")
    )
    assert sorted(seen["docker"]) == dockerfiles


def test_just_run_makemigrations_and_fmt_do_what_they_say(project_copy):
    """The daily recipes, run as a developer runs them on a fresh copy: `just run` serves the
    list page from SQLite on the host, `just makemigrations` writes the migration a model
    change needs, `just fmt` leaves nothing for `just lint` to complain about."""
    project = project_copy(one(database="postgres", worker="huey", worker_broker="redis"))
    env = {k: v for k, v in uv_env().items() if k != "DATABASE_URL"}
    port = free_port()
    server = subprocess.Popen(
        [tool("just"), "run", str(port)], cwd=project, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        status = wait_until(lambda: get(port, "/")[0] == 200 or None, 180, "just run serving /")
        assert status and (project / "src" / "db.sqlite3").is_file()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert "Starting WSGI development server" in output, output

    models = project / "src" / answers_slug(project) / "models.py"
    models.write_text(models.read_text().replace(
        "class Entry(models.Model):\n",
        "class Entry(models.Model):\n    rating = models.IntegerField(default=0)\n",
    ))  # fmt: skip
    made = run([tool("just"), "makemigrations"], cwd=project, env=env)
    assert made.returncode == 0 and "rating" in made.stdout, made.output
    made_files = (models.parent / "migrations").glob("0*.py")
    assert [m for m in made_files if "rating" in m.read_text()], made_files

    views = project / "src" / answers_slug(project) / "views.py"
    views.write_text(views.read_text() + "\n\n\nimport os\nx=[1,2 ,3]\n")
    assert run([tool("just"), "lint"], cwd=project, env=env).returncode != 0
    fixed = run([tool("just"), "fmt"], cwd=project, env=env)
    assert fixed.returncode == 0, fixed.output
    linted = run([tool("just"), "lint"], cwd=project, env=env)
    assert linted.returncode == 0, linted.output


# Stand-ins for commands that need an account (flyctl, the 1Password CLI): each call is recorded
# (arguments and standard input, one JSON line); `op inject` also does its job, replacing each
# op:// reference by a value made from it.
STANDIN = """#!/usr/bin/env python3
import json, os, re, sys
args = sys.argv[1:]
stdin = sys.stdin.read()
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps({"command": os.path.basename(sys.argv[0]), "args": args, "stdin": stdin}) + "\\n")
if args[:2] == ["inject", "--in-file"]:
    text = open(args[2]).read()
    sys.stdout.write(re.sub(r"op://([^\\"\\s]+)", lambda m: "secret-of-" + m[1].replace("/", "-"), text))
if args == ["secrets", "list", "--json"]:
    print(os.environ.get("STANDIN_FLY_SECRETS", "[]"))
"""


def standins(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in names:
        (folder / name).write_text(STANDIN)
        (folder / name).chmod(0o755)
    return folder


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def fly_secrets(project: Path, tmp_path: Path, app_secrets: str = "[]") -> tuple[str, list]:
    """`just fly-secrets` with stand-in fly and op: its output and the calls they received."""
    log = tmp_path / "calls.jsonl"
    bin_dir = standins(tmp_path / "bin", "fly", "op")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STANDIN_LOG": str(log),
           "STANDIN_FLY_SECRETS": app_secrets}  # fmt: skip
    result = run([tool("just"), "fly-secrets"], cwd=project, env=env, input="")
    assert result.returncode == 0, result.output
    return result.output, calls(log)


@pytest.mark.parametrize("secrets", ["dotenv", "1password"])
def test_fly_secrets_stages_a_key_made_for_the_app_and_only_production_settings(
    project_copy, secrets, tmp_path
):
    project = project_copy(one(secrets=secrets, fly=True, database="postgres", worker="huey"))
    slug = answers_slug(project)
    if secrets == "dotenv":
        assert run([tool("just"), "env"], cwd=project).returncode == 0
        dotenv = (project / ".env").read_text()
        (project / ".env").write_text(
            dotenv.replace("EMAIL_HOST=\n", 'EMAIL_HOST="smtp.example.com"\n')
        )
        local_key = re.search(r"^SECRET_KEY=(.+)$", dotenv, re.MULTILINE)[1]
        settings = "EMAIL_HOST=smtp.example.com\n"
    else:
        local_key = f"secret-of-{slug}-django-secret-key"  # what .env.op would give this machine
        settings = f"EMAIL_HOST_PASSWORD=secret-of-{slug}-production-email-password\n"

    _, recorded = fly_secrets(project, tmp_path)

    if secrets == "1password":
        assert recorded.pop(0)["args"] == ["inject", "--in-file", ".env.fly.op"]
    assert [(c["command"], c["args"]) for c in recorded] == [
        ("fly", ["secrets", "list", "--json"]),
        ("fly", ["secrets", "import", "--stage"]),
        ("fly", ["secrets", "list"]),
    ]
    key = re.fullmatch(r"SECRET_KEY=(\S+)\n" + re.escape(settings), recorded[1]["stdin"])
    assert key, f"a key, then no DATABASE_URL, REDIS_URL or password of this machine: {recorded[1]}"
    assert len(key[1]) >= 50 and key[1] != local_key


def test_fly_secrets_keeps_the_key_the_app_has(project_copy, tmp_path):
    project = project_copy(one(secrets="dotenv", fly=True))
    assert run([tool("just"), "env"], cwd=project).returncode == 0
    output, recorded = fly_secrets(project, tmp_path, '[{"name": "SECRET_KEY", "digest": "d"}]')
    assert "SECRET_KEY: the app has one; kept" in output
    assert not any("SECRET_KEY" in c["stdin"] for c in recorded), recorded


def test_fly_secrets_without_an_env_file_says_so(project_copy, tmp_path):
    project = project_copy(one(secrets="dotenv", fly=True))
    (project / ".env").unlink(missing_ok=True)
    log = tmp_path / "calls.jsonl"
    bin_dir = standins(tmp_path / "bin", "fly")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STANDIN_LOG": str(log)}
    result = run([tool("just"), "fly-secrets"], cwd=project, env=env, input="")
    assert result.returncode != 0 and "no .env (just env writes one)" in result.stderr
    assert not log.exists(), "nothing reached fly"
