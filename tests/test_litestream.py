"""Litestream in the sq image, for real (issue 4): the binary from the image, the replica a
directory on its own compose volume, as `just up sq` runs it.

One compose project walks through a database's life, in file order: fresh start with an
empty replica, then records replicated and restored after the database volume is destroyed,
then a damaged replica, which must stop the start with litestream's error rather than start
a fresh database that would be replicated over the backup. Each test still makes what it
needs when it runs alone (or on another xdist worker).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest

from harness.baseimages import ensure_for_dockerfile
from harness.combinations import one
from harness.commands import free_port, require, run, tool, wait_until
from harness.engine import require_engine
from harness.http import healthy, post_entry, words, writer
from harness.projects import prepare
from harness.renders import answers_of
from harness.s3 import S3, S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, missing_weed
from harness.s3service import S3_PORT, bucket_env, s3_service
from harness.stacks import Stack, suite_name, timed

pytestmark = pytest.mark.docker

ANSWERS = {"database": "sqlite", "worker": "huey", "worker_broker": "sqlite", "litestream": True}
DB = "/data/db.sqlite3"
REPLICA_URL = "file:///replica/db"
FRESH = f"web.sh: no backup at {REPLICA_URL} yet; starting with a fresh database"
RESTORED = f"web.sh: restored {DB} from {REPLICA_URL}"
REFUSED = f"web.sh: litestream could not restore {DB} from {REPLICA_URL}"


@pytest.fixture(scope="module")
def stack(render, tmp_path_factory):
    require_engine()
    combo = one(secrets="dotenv", **ANSWERS)
    project = prepare(render(combo), tmp_path_factory.mktemp("litestream") / "project")
    stack = Stack(project, suite_name("litestream"), "sq")
    stack.slug = answers_of(project)["project_slug"]
    # Volume chores run in the base image, which exists before the project's image is built.
    stack.base = ensure_for_dockerfile(project / "deploy/sq/Dockerfile")[0].tag
    yield stack
    stack.set_override({"services": {"s3": s3_service(free_port()) | {"profiles": ["sq"]}}})
    stack.remove()  # with the S3 service of the drill, should it still be there
    # A volume first made by volume_shell() (not by compose) is not removed by `down -v`.
    volumes = [stack.volume(name) for name in ("sq-data", "sq-replica", "media")]
    run(["docker", "volume", "rm", "--force", *volumes])


def volume_shell(stack: Stack, volume: str, mount: str, script: str):
    """Run a shell script as root in a throwaway container of the project's base image with
    one of the stack's volumes mounted (no network)."""
    return run(
        [
            "docker", "run", "--rm", "--network", "none", "--user", "0",
            "--volume", f"{stack.volume(volume)}:{mount}",
            stack.base, "sh", "-c", script,
        ],
        timeout=120,
    )  # fmt: skip


def ltx_files(stack: Stack) -> int:
    """How many LTX files (litestream's replica format) the replica volume holds."""
    result = volume_shell(stack, "sq-replica", "/replica", "find /replica -name '*.ltx' | wc -l")
    assert result.returncode == 0, result.output
    return int(result.stdout)


def replicated_titles(stack: Stack) -> dict[str, int | None]:
    """Restore the replica as it is now into a scratch file inside the web container and read
    the entries from it: what a restore would bring back at this moment."""
    query = (
        "import json, sqlite3; db = sqlite3.connect('/tmp/probe.db'); "
        f"print(json.dumps(dict(db.execute('select title, word_count from {stack.slug}_entry'))))"
    )
    result = stack.exec(
        stack.web,
        "sh",
        "-c",
        "rm -f /tmp/probe.db* && litestream restore -config litestream.yml -o /tmp/probe.db "
        f'"$LITESTREAM_DB_PATH" >/dev/null 2>&1 && python -c "{query}"',
        env={"LITESTREAM_DB_PATH": DB},
    )
    return json.loads(result.stdout) if result.returncode == 0 else {}


def test_fresh_start_with_an_empty_replica_says_so_once(stack):
    with timed("litestream: up --build --wait (empty replica)"):
        stack.up(build=True)
    wait_until(lambda: healthy(stack.port), 60, "/health/ all ok")
    log = stack.logs(stack.web)
    assert log.count(FRESH) == 1, log[-4000:]
    assert RESTORED not in log and "Error" not in log, log[-4000:]
    # Replication runs: the replica volume now holds LTX files.
    wait_until(lambda: ltx_files(stack), 30, "LTX files in the replica volume")


def test_records_are_restored_after_the_database_volume_is_lost(stack):
    if not healthy(stack.port):
        stack.up(build=True)
    titles = [f"replicated entry {n}" for n in range(1, 4)]
    session = writer(stack.port, stack.manage)
    for title in titles:
        post_entry(stack.port, title, f"body of {title}", session)
    expected = {
        t: wait_until(lambda t=t: words(stack.port, t), 90, f"{t!r} processed") for t in titles
    }
    # Wait until the replica holds every record as processed by the worker (its write, too).
    with timed("litestream: records reach the replica"):
        wait_until(
            lambda: all(replicated_titles(stack).get(t) == n for t, n in expected.items()),
            60,
            "every record in the replica",
        )

    assert stack.down().returncode == 0
    removed = run(["docker", "volume", "rm", stack.volume("sq-data")])
    assert removed.returncode == 0, removed.output
    replica = run(["docker", "volume", "inspect", stack.volume("sq-replica")])
    assert replica.returncode == 0, "the replica volume must survive"

    with timed("litestream: up --wait with a restore"):
        stack.up()
    wait_until(lambda: healthy(stack.port), 60, "/health/ all ok after the restore")
    log = stack.logs(stack.web)
    assert RESTORED in log and FRESH not in log, log[-4000:]
    for title, count in expected.items():
        assert words(stack.port, title) == count, f"{title!r} was not restored"


S3_BUCKET = "litestream-backups"
# As on Fly: the provider's endpoint in the URL (path style, as self-hosted S3 servers need).
S3_REPLICA_URL = (
    f"s3://{S3_BUCKET}/db?endpoint=http://s3:{S3_PORT}&region={S3_REGION}&forcePathStyle=true"
)


def s3_override(s3_port: int) -> dict:
    """web-sq replicating to a bucket as on Fly: an s3:// URL with the provider's endpoint,
    and the keys `fly storage create` sets (AWS_*, which litestream reads too). The S3 server
    is the harness's S3 service on the stack's network."""
    wiring = bucket_env(S3_BUCKET)
    keys = {k: wiring[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    return {"services": {
        "s3": s3_service(s3_port) | {"profiles": ["sq"]},
        "web-sq": {"environment": {"LITESTREAM_REPLICA_URL": S3_REPLICA_URL, **keys}},
    }}  # fmt: skip


def compose_ok(stack: Stack, *args: str):
    result = stack.compose(*args)
    assert result.returncode == 0, f"{result.output}\n{stack.logs()[-3000:]}"
    return result


def bucket_keys(s3_port: int) -> list[str]:
    client = S3(f"http://127.0.0.1:{s3_port}").client()
    return [item["Key"] for item in client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", [])]


def drill_titles(project) -> set[str]:
    """The entry titles in the scratch file the last drill restored on this machine."""
    with contextlib.closing(sqlite3.connect(project / "drill.sqlite3")) as db:
        table = next(
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name.endswith("_entry")
        )
        return {title for (title,) in db.execute(f"SELECT title FROM {table}")}


def test_the_restore_drill_checks_the_backup_and_leaves_the_database_alone(stack):
    """`just restore-drill` as a team runs it: against the local stack's replica (inside the
    web container), and from this machine (litestream from PyPI) against a bucket on a real
    S3 server that the web container replicates to, as production does on Fly."""
    require(missing_weed())
    if not healthy(stack.port):
        stack.up(build=True)
    post_entry(stack.port, "drilled entry", "restored into a scratch file",
               writer(stack.port, stack.manage))  # fmt: skip
    wait_until(lambda: "drilled entry" in replicated_titles(stack), 60, "the entry replicated")

    local = run([tool("just"), "restore-drill"], cwd=stack.project, env=stack.env(), timeout=300)
    assert local.returncode == 0, local.output
    table = f"{stack.slug}_entry: "
    assert "passed the integrity check" in local.stdout and table in local.stdout, local.output
    assert words(stack.port, "drilled entry") is not None, "the live database still serves"

    # Production's story on S3: a first start on an empty bucket, records replicated, the
    # drill from this machine, then a lost database volume restored from the bucket. The
    # database starts afresh: litestream's local state belongs to one replica, and pointing
    # an existing database at another fails ("LTX file is missing") until `litestream reset`.
    s3_port = free_port()
    compose_ok(stack, "down")
    stack.set_override(s3_override(s3_port))
    try:
        removed = run(["docker", "volume", "rm", stack.volume("sq-data")])
        assert removed.returncode == 0, removed.output
        compose_ok(stack, "up", "--detach", "--wait", "s3")
        S3(f"http://127.0.0.1:{s3_port}").create_bucket(S3_BUCKET)
        with timed("litestream: up --wait replicating to S3 (first start)"):
            compose_ok(stack, "up", "--detach", "--wait")
        log = stack.logs(stack.web)
        assert f"web.sh: no backup at {S3_REPLICA_URL} yet" in log, log[-3000:]
        session = writer(stack.port, stack.manage)  # a new database: a new user
        for title in ("drilled from s3", "second s3 entry"):
            post_entry(stack.port, title, "written to a database that replicates to a bucket",
                       session)  # fmt: skip

        # From this machine, with the credentials the README gives for the drill, to the
        # bucket's published port. (AWS_CA_BUNDLE, set on some machines for boto, makes
        # litestream's AWS client refuse to start: not part of a drill's environment.)
        url = (
            f"s3://{S3_BUCKET}/db?endpoint=http://127.0.0.1:{s3_port}"
            f"&region={S3_REGION}&forcePathStyle=true"
        )
        drill_env = {k: v for k, v in stack.env().items() if k != "AWS_CA_BUNDLE"}
        drill_env.update(
            LITESTREAM_ACCESS_KEY_ID=S3_ACCESS_KEY, LITESTREAM_SECRET_ACCESS_KEY=S3_SECRET_KEY
        )
        wanted = {"drilled from s3", "second s3 entry"}
        attempts = []

        def drilled():
            """A drill that passed and brought back both entries (replication takes a moment)."""
            attempts.append(
                run([tool("just"), "restore-drill", url], cwd=stack.project, env=drill_env)
            )
            restored = attempts[-1].returncode == 0 and drill_titles(stack.project)
            return attempts[-1] if restored and wanted <= restored else None

        try:
            remote = wait_until(drilled, 120, "a drill from the bucket with both entries")
        except AssertionError as exc:
            keys = bucket_keys(s3_port)
            log = stack.logs(stack.web)[-3000:]
            raise AssertionError(f"{exc}\n{attempts[-1].output}\n{keys}\n{log}") from None
        assert "passed the integrity check" in remote.stdout and table in remote.stdout, (
            remote.output
        )
        keys = bucket_keys(s3_port)
        assert keys and all(key.startswith("db/") and key.endswith(".ltx") for key in keys), keys
        assert words(stack.port, "drilled from s3") is not False, "the live database still serves"

        # The database volume lost: web.sh restores it from the bucket when it starts.
        compose_ok(stack, "rm", "--stop", "--force", stack.web, stack.worker)
        removed = run(["docker", "volume", "rm", stack.volume("sq-data")])
        assert removed.returncode == 0, removed.output
        with timed("litestream: up --wait with a restore from S3"):
            compose_ok(stack, "up", "--detach", "--wait")
        log = stack.logs(stack.web)
        assert f"web.sh: restored {DB} from {S3_REPLICA_URL}" in log, log[-3000:]
        for title in wanted:
            assert words(stack.port, title) is not False, f"{title!r} was not restored"
    finally:
        # The S3 service (with its data) and the containers that used it go; the other tests
        # start their own.
        compose_ok(stack, "rm", "--stop", "--force", "--volumes", "s3")
        compose_ok(stack, "down")
        stack.set_override(None)


def test_damaged_replica_stops_the_start_with_litestreams_error(stack):
    """A replica that exists but cannot be read must not be answered with a fresh database
    (litestream would replicate it over the backup): web.sh exits non-zero with the reason."""
    if not ltx_files(stack):  # run on its own: make a replica first
        stack.up(build=True)
        post_entry(stack.port, "an entry to replicate", "and then to damage",
                   writer(stack.port, stack.manage))  # fmt: skip
        wait_until(lambda: ltx_files(stack), 60, "LTX files in the replica volume")
    assert stack.down().returncode == 0
    removed = run(["docker", "volume", "rm", "--force", stack.volume("sq-data")])
    assert removed.returncode == 0, removed.output
    damaged = volume_shell(
        stack,
        "sq-replica",
        "/replica",
        "set -e; files=$(find /replica -name '*.ltx'); test -n \"$files\";"
        ' for f in $files; do truncate -s 50 "$f"; done; echo "$files" | wc -l',
    )
    assert damaged.returncode == 0 and int(damaged.stdout) > 0, damaged.output

    stack.up(stack.web, wait=False, deps=False)

    def failed():
        # ExitCode stays 0 until the first exit; compose's restart policy may start it again.
        state = stack.inspect(stack.web)["State"]
        return state if state["ExitCode"] != 0 else None

    state = wait_until(failed, 90, "web-sq to exit")
    log = stack.logs(stack.web)
    assert state["ExitCode"] == 1, (state, log[-3000:])
    assert "Error:" in log and REFUSED in log, log[-3000:]
    assert FRESH not in log, log[-3000:]
    # Nothing was started: no database file, and the replica is as it was left.
    after = volume_shell(stack, "sq-data", "/data", f"test ! -e {DB} && echo no-database")
    assert after.stdout.strip() == "no-database", after.output
    sizes = volume_shell(
        stack, "sq-replica", "/replica", "find /replica -name '*.ltx' -size +50c | wc -l"
    )
    assert sizes.stdout.strip() == "0", f"the replica was written to: {sizes.output}"
