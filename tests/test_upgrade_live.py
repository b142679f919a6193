"""A deployed project lives through `copier update`: for each data runtime (database x broker x
litestream, in compose, and the Fly app of each database) made by each supported release, the
release's own stack is started with `just up` (Fly: deployed as Fly deploys it), data is
written through the app (a superuser, entries, an upload where the release keeps them, a task
queued while the worker is stopped, the litestream replica), then the project is updated as
the scheduled workflow updates it, re-locked (`just lock`) and started again (`just up`; Fly:
a new deploy, whose release command migrates the old database). After it, every row is
there, the superuser signs in with the same password, the upload is served, the queued task
is processed once, and litestream still replicates (a restore drill finds a row written after
the update).

Each project gets a name of its own (free text, which branches nothing): a release whose
compose file names its images after the project could otherwise share an image tag with a
neighbour's.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.baseimages import ensure_for_compose
from harness.commands import git, run, tool, wait_until
from harness.engine import require_engine
from harness.fly import FlyRun
from harness.http import download, get, logs_in, post_attachment, post_entry, sign_in, words
from harness.levels import members
from harness.projects import lock, prepare
from harness.renders import answers_of, digest
from harness.stacks import Stack, suite_name, timed
from harness.template_repo import assert_not_head, supported_releases
from harness.upgrades import (
    LiveUpgrade,
    keeps_uploads,
    leftovers,
    made_by,
    next_release,
    serve_releases,
    update,
)

pytestmark = [pytest.mark.docker, pytest.mark.proof("upgraded live")]

ADMIN = "keeper"
UPLOAD = b"kept across the update\n" + bytes(range(256)) * 16

# Every table's rows, counted by the app's own database connection (run with manage.py shell).
COUNT_ROWS = """
import json
from django.db import connection
with connection.cursor() as cursor:
    counts = {}
    for table in connection.introspection.table_names(cursor):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
print("ROWS " + json.dumps(counts))
"""


# SIGSTOP to the huey consumer beside gunicorn (the image has no pkill). The pattern is split so
# that this script's own command line does not match it.
PAUSE_CONSUMER = """
import os, signal
pattern = b"run_" + b"huey"
found = [int(p) for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{p}/cmdline")
         and pattern in open(f"/proc/{p}/cmdline", "rb").read()]
for pid in found:
    os.kill(pid, signal.SIGSTOP)
print("paused" if found else "no consumer")
"""


@dataclass
class Written:
    """What was written through the release's app, to be found after the update."""

    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    entries: dict[str, int] = field(default_factory=dict)  # title -> word count
    queued: str | None = None  # the title of the entry whose task waited for the worker
    queued_pk: int | None = None
    upload: str | None = None  # its link, where the release has uploads
    rows: dict[str, int] = field(default_factory=dict)


class Compose:
    """The member's project with `just up <profile>`, as a team runs it."""

    def __init__(self, project: Path, name: str, profile: str) -> None:
        self.project = project
        self.stack = Stack(project, name, profile)
        self.port = self.stack.port
        self.origin = None

    def up(self) -> None:
        ensure_for_compose(self.project, self.stack.profile, env=self.stack.env())
        self.just("up", self.stack.profile)

    def just(self, *args: str):
        result = run([tool("just"), *args], cwd=self.project, env=self.stack.env(), timeout=900)
        assert result.returncode == 0, f"{result.output[-3000:]}\n{self.stack.logs()[-3000:]}"
        return result

    def manage(self, *args: str, env: dict | None = None):
        return self.stack.manage(*args, env=env)

    @property
    def has_worker(self) -> bool:
        return (self.project / "src/scripts/worker.sh").exists()

    def stop_worker(self) -> None:
        result = self.stack.compose("stop", self.stack.worker, timeout=120)
        assert result.returncode == 0, result.output

    def worker_log(self) -> str:
        return self.stack.logs(self.stack.worker)

    def redeploy(self) -> None:
        """After the update: `just lock`, then `just up` (the new images, the same volumes)."""
        self.just("lock")
        self.up()

    def replica_entries(self, table: str) -> int | None:
        """Entries in the latest backup, by the project's own drill (`just restore-drill`)."""
        drill = run([tool("just"), "restore-drill"], cwd=self.project, env=self.stack.env())
        found = re.search(rf"^{table}: (\d+) rows$", drill.stdout, re.MULTILINE)
        return int(found[1]) if drill.returncode == 0 and found else None

    def teardown(self) -> None:
        self.stack.remove()


class Fly:
    """The member's project deployed as Fly deploys it (harness/fly.py)."""

    def __init__(self, project: Path, name: str) -> None:
        self.run = FlyRun(project, name)
        self.port = self.run.port
        self.origin = f"https://{self.run.domain}"

    def up(self) -> None:
        self.run.deploy()

    def manage(self, *args: str, env: dict | None = None):
        return self.run.manage(*args, env=env)

    @property
    def has_worker(self) -> bool:
        return self.run.combo.use_huey

    def stop_worker(self) -> None:
        """The worker machine stopped; where the consumer runs beside gunicorn (a volume's
        SQLite), the consumer paused (SIGSTOP) in its machine: either way nothing takes tasks."""
        if "worker" in self.run.machines:
            assert run(["docker", "stop", self.run.machines["worker"]]).returncode == 0
        else:
            paused = run(
                ["docker", "exec", self.run.machines["app"], "python", "-c", PAUSE_CONSUMER]
            )
            assert paused.returncode == 0 and "paused" in paused.stdout, paused.output

    def worker_log(self) -> str:
        return self.run.logs("worker" if "worker" in self.run.machines else "app")

    def redeploy(self) -> None:
        """After the update: `just lock`, then `just deploy` (build, the new release command
        against the old database, the machines replaced, volumes kept)."""
        lock(self.run.project)
        self.run.deploy()
        if self.run.release is not None:
            assert (
                "Applying" in self.run.release.stdout or "No migrations" in self.run.release.stdout
            )

    def replica_entries(self, table: str) -> int | None:
        """Entries in the latest backup: litestream restores the replica in the machine."""
        count = f"import sqlite3; print(sqlite3.connect('/tmp/drill.db').execute('select count(*) from {table}').fetchone()[0])"
        script = ('rm -f /tmp/drill.db* && litestream restore -o /tmp/drill.db "$LITESTREAM_REPLICA_URL"'
                  f' >/dev/null 2>&1 && python -c "{count}"')  # fmt: skip
        result = run(["docker", "exec", self.run.machines["app"], "sh", "-c", script])
        return int(result.stdout) if result.returncode == 0 and result.stdout.strip() else None

    def teardown(self) -> None:
        self.run.teardown()


@pytest.fixture(scope="session")
def address(run_dir) -> Path:
    assert_not_head(supported_releases()[-1][1])
    return serve_releases(run_dir)


@dataclass
class Lived:
    member: LiveUpgrade
    app: Compose | Fly
    written: Written
    slug: str


@pytest.fixture(scope="module", params=members("upgraded live"), ids=lambda m: m.id)
def lived(request, address, tmp_path_factory) -> Lived:
    """The member's project: made by its release, started, written to, updated as the
    workflow updates it, re-locked and started again."""
    require_engine()
    member: LiveUpgrade = request.param
    runtime = member.runtime
    name = f"live{digest(member.id)[:8]}"
    answers = {**runtime.combo.render_data, "project_name": f"Live {name}"}
    rendered = made_by(member, answers, tmp_path_factory.mktemp("live") / "release")
    project = prepare(rendered, tmp_path_factory.mktemp("live") / "project")  # lock and .env
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "lock")
    fly = runtime.place.startswith("fly")
    app = Fly(project, name) if fly else Compose(project, suite_name(name), runtime.profile)
    request.addfinalizer(app.teardown)
    slug = answers_of(project)["project_slug"]
    with timed(f"live {member.id}: the release's stack up"):
        app.up()
    written = write(app, slug, uploads=keeps_uploads(member))
    with timed(f"live {member.id}: update, lock, up"):
        update(project)
        assert leftovers(project) == [], leftovers(project)
        assert answers_of(project)["_commit"] == next_release()
        app.redeploy()
    return Lived(member, app, written, slug)


def write(app: Compose | Fly, slug: str, uploads: bool) -> Written:
    """Through the release's app: a superuser, entries, an upload (where the release has
    them), a task queued while no worker takes tasks; then every table's row count."""
    written = Written()
    made = app.manage("createsuperuser", "--noinput", "--username", ADMIN, "--email",
                      "keeper@example.com", env={"DJANGO_SUPERUSER_PASSWORD": written.password})  # fmt: skip
    assert made.returncode == 0, made.output
    for n in range(3):
        title = f"kept entry {n}"
        post_entry(app.port, title, "written before the update", None, app.origin)
        written.entries[title] = len(f"{title} written before the update".split())
    if uploads:
        # A kind of file the current release would refuse: what was kept stays downloadable.
        post_attachment(app.port, "kept upload", "kept.bin", UPLOAD, None, app.origin)
        _, _, page = get(app.port, "/", app.origin)
        written.upload = re.search(r'href="(/entries/\d+/attachment/)">kept', page)[1]
    for title, count in written.entries.items():
        wait_until(
            lambda t=title, c=count: words(app.port, t, app.origin) == c, 90, f"{title} processed"
        )
    if app.has_worker:
        app.stop_worker()
        written.queued = "queued across the update"
        post_entry(app.port, written.queued, "waits for a worker", None, app.origin)
        time.sleep(2)  # a worker that still took tasks would have processed it by now
        assert words(app.port, written.queued, app.origin) is None, "the worker was not stopped"
        pk = app.manage("shell", "-c", f"from {slug}.models import Entry; "
                        f"print(Entry.objects.get(title='{written.queued}').pk)")  # fmt: skip
        written.queued_pk = int(pk.stdout.split()[-1])
    written.rows = rows(app)
    return written


def rows(app: Compose | Fly) -> dict[str, int]:
    counted = app.manage("shell", "-c", COUNT_ROWS)
    assert counted.returncode == 0, counted.output
    return json.loads(counted.stdout.split("ROWS ", 1)[1].splitlines()[0])


def test_every_row_written_before_the_update_is_there(lived):
    after = rows(lived.app)
    lost = {t: (n, after.get(t, 0)) for t, n in lived.written.rows.items() if after.get(t, 0) < n}
    assert lost == {}, f"tables with fewer rows after the update (before, after): {lost}"
    for title in lived.written.entries:
        assert words(lived.app.port, title, lived.app.origin) not in (False, None), title


def test_the_superuser_signs_in_with_the_same_password(lived):
    assert logs_in(lived.app.port, ADMIN, lived.written.password, origin=lived.app.origin)
    assert not logs_in(lived.app.port, ADMIN, "not-the-password", origin=lived.app.origin)


def signed_in(lived: Lived) -> str:
    """The superuser written before the update, signed in through the new sign-in page."""
    session = sign_in(lived.app.port, ADMIN, lived.written.password, lived.app.origin)
    assert session, "the superuser could not sign in at /accounts/login/"
    return session


def test_the_upload_is_served_to_staff(lived):
    """Written before sign-in was required, so it has no owner: staff download it."""
    served = download(lived.app.port, lived.written.upload, signed_in(lived), lived.app.origin)
    assert served == (200, UPLOAD)


def test_the_task_queued_before_the_update_is_processed_once(lived):
    count = wait_until(lambda: words(lived.app.port, lived.written.queued, lived.app.origin),
                       120, "the queued entry processed")  # fmt: skip
    assert count == len(f"{lived.written.queued} waits for a worker".split())
    processed = re.findall(rf"entry {lived.written.queued_pk} processed", lived.app.worker_log())
    assert len(processed) == 1, lived.app.worker_log()[-3000:]


def test_litestream_still_replicates_a_row_written_after_the_update(lived):
    title = "written after the update"
    post_entry(lived.app.port, title, "and replicated", signed_in(lived), lived.app.origin)
    live = rows(lived.app)[f"{lived.slug}_entry"]
    wait_until(lambda: lived.app.replica_entries(f"{lived.slug}_entry") == live, 60,
               f"{live} entries in a restore of the replica")  # fmt: skip
