"""The manual's commands on the host, run as a reader runs them: copy a project, commit it,
write .env, test and serve it, run its hooks, update it from a newer template release
(cleanly, with a conflict, undone), and build and serve this manual."""

from __future__ import annotations

import re
import signal

import pytest

from harness import ROOT
from harness.commands import IN_CI, git, run, tool
from harness.renders import answers_of
from harness.snippets import DOCS, Shell, http_status
from harness.template_repo import TemplateRepo


def release_v1_1(repo: TemplateRepo) -> None:
    """A new template version: a new file, and the first line of .gitignore reworded."""
    repo.write("template/NOTES.md", "New in v1.1.0.\n")
    gitignore = repo.path / "template" / ".gitignore"
    first = gitignore.read_text().splitlines()[0]
    repo.edit("template/.gitignore", first, "# template v1.1.0 says hello")
    repo.release("v1.1.0")


def test_copy_commands_render_commit_and_write_env_as_the_pages_say(tmp_path, template_repo):
    sh = Shell(tmp_path / "work", template_repo.path)
    for name in (
        "copy-defaults.sh",
        "copy-data.sh",
        "copy-data-file.sh",
        "copy-vcs-ref.sh",
        "copy-1password.sh",
    ):
        sh.run(name)
    work = sh.workdir
    assert answers_of(work / "my-project")["project_slug"] == "my_django_project"
    ledger = answers_of(work / "cafe-ledger")
    assert (ledger["project_name"], ledger["project_slug"], ledger["database"]) == (
        "Café Ledger",
        "cafe_ledger",
        "both",
    )
    assert ledger["_commit"] == "v1.0.0"
    assert (work / "cafe-ledger" / "deploy" / "pg" / "Dockerfile").is_file()
    assert (work / "cafe-ledger" / "deploy" / "sq" / "Dockerfile").is_file()
    sq = answers_of(work / "cafe-ledger-sq")
    assert (sq["database"], sq["worker_broker"], sq["fly_region"]) == ("sqlite", "sqlite", "fra")
    assert answers_of(work / "cafe-ledger-v1")["_commit"] == "v1.0.0"
    assert (work / "cafe-ledger-op" / ".env.op").is_file()

    sh.run("first-commit.sh")
    assert git(work / "cafe-ledger", "status", "--short") == ""

    made = sh.run("env-dotenv.sh")
    assert "wrote .env" in made.stdout and ".env exists; left as it is" in made.stdout
    assert made.stdout.strip().endswith("1")
    key = re.search(
        r"^SECRET_KEY=(.*)$", (work / "cafe-ledger" / ".env").read_text(), re.MULTILINE
    ).group(1)
    assert len(key) == 67, "the page says 67 random characters"
    assert git(work / "cafe-ledger", "status", "--short") == "", ".env must stay untracked"

    missing = sh.run("env-op-missing.sh", expect_ok=False)
    shown = re.search(
        r'```text title="output"\n(.*?)```', (DOCS / "secrets.md").read_text(), re.DOTALL
    ).group(1)
    assert missing.returncode != 0
    for line in shown.strip().splitlines():
        assert line.strip() in missing.output, "the output shown on the secrets page"
    assert not (work / "cafe-ledger-op" / ".env").exists()

    config = sh.run("compose-config.sh")
    lines = config.stdout.split()
    assert {"web-pg", "worker-pg", "postgres", "redis"} <= set(lines), config.output
    assert {"media", "sq-data", "sq-replica"} <= set(lines), config.output


@pytest.fixture(scope="module")
def redis_for_docs(request):
    return request.getfixturevalue("redis_url")


@pytest.mark.services
def test_host_commands_test_serve_and_run_the_hooks_of_a_new_project(
    tmp_path, template_repo, redis_for_docs
):
    """`just lock/test/lint`, the host dev server and the pre-commit hooks, in a fresh
    project; the generated tests get a real Redis, as the page says to give them."""
    sh = Shell(tmp_path / "work", template_repo.path, {"REDIS_URL": redis_for_docs})
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    tests = sh.run("host-tests.sh")
    assert re.search(r"\d+ passed", tests.stdout), tests.output
    assert " skipped" not in tests.stdout or not IN_CI, tests.output

    with sh.background("runserver.sh", stop=signal.SIGTERM) as server:
        base = f"http://127.0.0.1:{sh.dev_port}"
        server.wait_for(lambda: http_status(base + "/health/") == 200, 180, "runserver /health/")
        assert http_status(base + "/") == 200

    hooks_run = sh.run("pre-commit.sh")
    assert "Passed" in hooks_run.stdout and "Failed" not in hooks_run.stdout, hooks_run.output


def test_update_commands_keep_local_work_and_bring_the_new_release(tmp_path, template_repo):
    sh = Shell(tmp_path / "work", template_repo.path)
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    project = sh.workdir / "cafe-ledger"
    settings = project / "src" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nTEAM_SETTING = 'ours'\n")
    # The page says an update refuses uncommitted changes.
    dirty = run([tool("copier"), "update", "--defaults"], cwd=project, env=sh.env, timeout=300)
    assert dirty.returncode != 0, dirty.output
    git(project, "commit", "--quiet", "--all", "--message", "Our own setting")
    release_v1_1(template_repo)

    check = sh.run("check-update.sh")
    assert "1.1.0" in check.stdout and '"update_available": true' in check.stdout

    sh.run("update.sh")
    assert answers_of(project)["_commit"] == "v1.1.0"
    assert (project / "NOTES.md").is_file(), "the template's new file arrived"
    assert "TEAM_SETTING = 'ours'" in settings.read_text(), "local work was kept"
    assert (project / ".gitignore").read_text().startswith("# template v1.1.0 says hello")
    assert not list(project.rglob("*.rej"))

    sh.run("update-data.sh")
    assert not (project / "src" / "scripts" / "worker.sh").exists()
    tasks = (project / "src" / "cafe_ledger" / "tasks.py").read_text()
    assert "huey" not in tasks, "the task stays, on Django's immediate backend"
    sh.run("update-current.sh")
    assert not (project / "fly.toml").exists()
    assert answers_of(project)["_commit"] == "v1.1.0"
    assert git(project, "status", "--short") == ""


def test_update_conflict_shows_as_the_page_shows_and_can_be_undone(tmp_path, template_repo):
    sh = Shell(tmp_path / "work", template_repo.path)
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    project = sh.workdir / "cafe-ledger"
    gitignore = project / ".gitignore"
    lines = gitignore.read_text().splitlines(keepends=True)
    lines[0] = "# we said it first\n"
    gitignore.write_text("".join(lines))
    git(project, "commit", "--quiet", "--all", "--message", "Our wording")
    release_v1_1(template_repo)

    conflict = sh.run("update-conflict.sh")
    assert "UU .gitignore" in conflict.stdout
    text = gitignore.read_text()
    shown = re.search(
        r'```text title="a conflicted file after copier update"\n(.*?)```',
        (DOCS / "updating.md").read_text(),
        re.DOTALL,
    ).group(1)
    first, last = shown.strip().splitlines()[0], shown.strip().splitlines()[-1]
    assert text.startswith(
        f"{first}\n# we said it first\n=======\n# template v1.1.0 says hello\n{last}\n"
    ), text[:300]

    abort = sh.run("update-abort.sh")
    assert "Removing NOTES.md" in abort.stdout, abort.output
    assert git(project, "status", "--short") == ""
    assert gitignore.read_text().startswith("# we said it first")

    sh.run("update-rej.sh")
    assert gitignore.read_text().startswith("# template v1.1.0 says hello")
    assert "+# we said it first" in (project / ".gitignore.rej").read_text()


def test_docs_build_and_serve_commands_work(tmp_path):
    sh = Shell(tmp_path / "work", ROOT)
    sh.workdir = ROOT  # the logs stay in tmp_path
    built = sh.run("docs-build.sh", timeout=900)
    assert "Documentation built" in built.output
    with sh.background("docs-serve.sh") as server:
        url = f"http://127.0.0.1:{sh.dev_port}/"
        server.wait_for(lambda: http_status(url) == 200, 300, "mkdocs serve")
