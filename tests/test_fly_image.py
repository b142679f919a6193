"""The Fly.io image, built and started the way Fly would (issue 4), without Fly.

Build: `just deploy` runs `fly deploy src ...`, so the build context is src/; the Dockerfile
is fly.toml's [build] dockerfile, relative to fly.toml's folder; the build arguments are
[build.args]. Start: fly.toml's [env] plus the secrets `fly secrets set` would hold, the
variables Fly itself sets (FLY_APP_NAME, PRIMARY_REGION, ...), a volume at each [[mounts]]
destination, the [deploy] release_command first (a container without volumes), then one
container per process group running its [processes] command (or the image's CMD when there
are none). Fly stops a machine with kill_signal and kills it after kill_timeout: so does
the last test here.

Every distinct Fly app is run (harness/runtimes.py: its fly.toml and the image it builds),
from the member of its class closest to the defaults. Requests reach it as Fly's proxy
sends them: to internal_port, Host the app's domain, X-Forwarded-Proto https.

Stand-ins, named as such: PostgreSQL and Redis run as containers on a network this test
creates (Fly apps attach managed ones by URL secrets); the litestream replica, an S3 bucket
on Fly, is a second volume at /replica (LITESTREAM_REPLICA_URL=file:///replica/db).
"""

from __future__ import annotations

import re
import secrets
import shlex
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from harness.baseimages import ensure_for_dockerfile, ensure_images
from harness.combinations import Combination
from harness.commands import free_port, run, wait_until
from harness.docker import inspect
from harness.engine import build_image, remove_images, require_engine
from harness.http import healthy, post_entry, words
from harness.levels import members
from harness.runtimes import FlyApp
from harness.stacks import PROCESS_COMMANDS, prepare, suite_name, timed

pytestmark = [pytest.mark.docker, pytest.mark.proof("fly apps run")]

APPS = members("fly apps run")
POSTGRES_PASSWORD = secrets.token_hex(12)


@dataclass
class RunningApp:
    id: str  # the Fly app's id (harness/runtimes.py)
    key: str
    combo: Combination
    project: Path
    config: dict
    image: str
    network: str
    port: int
    containers: dict[str, str] = field(default_factory=dict)  # process group -> container
    volumes: list[str] = field(default_factory=list)
    built: object = None  # engine.Built
    release: object = None  # the release_command's result
    health: dict = field(default_factory=dict)  # the /health/ document once started
    flags: list[str] = field(default_factory=list)  # network and environment of every machine

    def env(self) -> list[str]:
        """--env flags: [env], the secrets, and what Fly sets on every machine."""
        values = {key: str(value) for key, value in self.config.get("env", {}).items()}
        values |= {
            "FLY_APP_NAME": self.config["app"],
            "FLY_REGION": self.config["primary_region"],
            "PRIMARY_REGION": self.config["primary_region"],
            "SECRET_KEY": secrets.token_urlsafe(50),
        }
        if self.combo.use_postgres:
            values["DATABASE_URL"] = f"postgres://app:{POSTGRES_PASSWORD}@postgres:5432/app"
        if self.combo.use_redis:
            values["REDIS_URL"] = "redis://redis:6379/0"
        if "litestream.yml" in {p.name for p in (self.project / "src").iterdir()}:
            values["LITESTREAM_REPLICA_URL"] = "file:///replica/db"
        return [f"--env={key}={value}" for key, value in values.items()]

    @property
    def domain(self) -> str:
        return yaml.safe_load((self.project / ".copier-answers.yml").read_text())["domain"]

    def logs(self, group: str) -> str:
        result = run(["docker", "logs", self.containers[group]])
        return result.stdout + result.stderr

    def state(self, group: str) -> dict:
        return inspect(self.containers[group])[0]["State"]

    def processes(self, group: str) -> list[str]:
        result = run(["docker", "exec", self.containers[group], "python", "-c", PROCESS_COMMANDS])
        return result.stdout.splitlines()


def service(app: RunningApp, name: str, image: str, *args: str) -> None:
    """A PostgreSQL or Redis for what the Fly app reaches by URL."""
    ensure_images(image)
    container = f"{app.network}-{name}"
    result = run(
        ["docker", "run", "--detach", "--name", container, "--network", app.network,
         "--network-alias", name, *args, image],
    )  # fmt: skip
    assert result.returncode == 0, result.output
    app.containers[f"service:{name}"] = container


def just_deploy_paths(project: Path) -> tuple[Path, Path]:
    """(build context, fly.toml) as flyctl resolves them for the justfile's deploy recipe:
    `fly deploy WORKING_DIRECTORY --config PATH` first changes into WORKING_DIRECTORY (the
    build context), then resolves PATH from there."""
    justfile = (project / "justfile").read_text()
    command = re.search(r"^\s+fly deploy (\S+) --config (\S+)\s*$", justfile, re.MULTILINE)
    assert command, "the justfile has no `fly deploy WORKING_DIRECTORY --config PATH`"
    context = (project / command[1]).resolve()
    return context, (context / command[2]).resolve()


@pytest.fixture(scope="module", params=APPS, ids=lambda a: a.id)
def app(request, render, tmp_path_factory) -> RunningApp:
    """The class's Fly app, deployed as Fly deploys it: built from fly.toml's [build], its
    databases attached, its release command run, each process group started, healthy (on
    Fly the checks gate the deploy, so every test here starts from a healthy app)."""
    require_engine()
    app = checked_out(request.param, render, tmp_path_factory)
    request.addfinalizer(lambda: teardown(app))
    build_as_fly_does(app)
    attach_databases(app)
    run_release_command(app)
    start_process_groups(app)
    check = app.config["http_service"]["checks"][0]
    with timed(f"fly {app.id}: start to healthy"):
        app.health = wait_until(
            lambda: healthy(app.port, check["path"]) or _exited(app),
            120,
            f"{check['path']} answering 200",
        )
    return app


def checked_out(flyapp: FlyApp, render, tmp_path_factory) -> RunningApp:
    """The class's project, prepared, with fly.toml read from where `just deploy` reads it."""
    key = flyapp.key[:10]
    project = prepare(render(flyapp.representative), tmp_path_factory.mktemp("fly") / "project")
    context, fly_toml = just_deploy_paths(project)
    assert fly_toml == (project / "fly.toml").resolve(), f"`just deploy` reads {fly_toml}"
    assert context == (project / "src").resolve() and (context / ".dockerignore").is_file()
    config = tomllib.loads(fly_toml.read_text())
    name = suite_name("fly", key)
    return RunningApp(flyapp.id, key, flyapp.representative, project, config, f"{name}:fly",
                      name, free_port())  # fmt: skip


def build_as_fly_does(app: RunningApp) -> None:
    """`fly deploy src --config ../fly.toml`: context src/, the Dockerfile relative to
    fly.toml's folder, [build.args]."""
    build = app.config["build"]
    dockerfile = app.project / build["dockerfile"]
    ensure_for_dockerfile(dockerfile)
    with timed(f"fly {app.id}: build as Fly would"):
        app.built = build_image(app.image, app.project / "src", dockerfile, build.get("args", {}))
    assert app.built.ok, app.built.tail(40)


def attach_databases(app: RunningApp) -> None:
    """PostgreSQL and Redis on a network of the app's, where Fly apps reach managed ones by
    the URLs in their secrets."""
    assert run(["docker", "network", "create", app.network]).returncode == 0
    if app.combo.use_postgres:
        service(app, "postgres", "postgres:17", "--env=POSTGRES_USER=app",
                f"--env=POSTGRES_PASSWORD={POSTGRES_PASSWORD}", "--env=POSTGRES_DB=app")  # fmt: skip
        # Over TCP: the image's first-start init runs a temporary server on the socket only.
        wait_until(
            lambda: run(["docker", "exec", app.containers["service:postgres"], "pg_isready",
                         "--host=127.0.0.1", "--username=app", "--dbname=app"]).returncode == 0,
            60, "postgres ready",
        )  # fmt: skip
    if app.combo.use_redis:
        service(app, "redis", "redis:8")
    app.flags = ["--network", app.network, *app.env()]


def run_release_command(app: RunningApp) -> None:
    """[deploy] release_command, on a temporary machine without volumes, RELEASE_COMMAND=1."""
    release = app.config.get("deploy", {}).get("release_command")
    if release:
        with timed(f"fly {app.id}: release_command"):
            app.release = run(
                ["docker", "run", "--rm", *app.flags, "--env=RELEASE_COMMAND=1", app.image,
                 *shlex.split(release)],
                timeout=300,
            )  # fmt: skip
        assert app.release.returncode == 0, app.release.output


def start_process_groups(app: RunningApp) -> None:
    """One machine per [processes] group (or one `app` machine running CMD), each with the
    [[mounts]] volumes; http_service's groups publish internal_port."""
    mounts = []
    for mount in app.config.get("mounts", []):
        app.volumes.append(f"{app.network}-{mount['source']}")
        mounts += ["--volume", f"{app.volumes[-1]}:{mount['destination']}"]
    if "--env=LITESTREAM_REPLICA_URL=file:///replica/db" in app.flags:  # the bucket
        app.volumes.append(f"{app.network}-bucket")
        mounts += ["--volume", f"{app.volumes[-1]}:/replica"]
    groups = app.config.get("processes") or {"app": None}
    internal_port = app.config["http_service"]["internal_port"]
    served = app.config["http_service"].get("processes") or list(groups)
    for group, command in groups.items():
        name = f"{app.network}-{group}"
        publish = ["--publish", f"127.0.0.1:{app.port}:{internal_port}"] if group in served else []
        result = run(
            ["docker", "run", "--detach", "--name", name, *app.flags,
             f"--env=FLY_PROCESS_GROUP={group}", *mounts, *publish, app.image,
             *(shlex.split(command) if command else [])],
        )  # fmt: skip
        assert result.returncode == 0, result.output
        app.containers[group] = name


def teardown(app: RunningApp) -> None:
    for container in app.containers.values():
        run(["docker", "rm", "--force", "--volumes", container])
    run(["docker", "network", "rm", app.network])
    if app.volumes:
        run(["docker", "volume", "rm", *app.volumes])
    remove_images(app.image)


def web_group(app: RunningApp) -> str:
    served = app.config["http_service"].get("processes")
    return served[0] if served else "app"


def test_fly_image_runs_the_build_argument_script(app):
    """The image built from fly.toml's [build] starts web.sh (run_cmd), which binds $PORT."""
    assert app.config["build"]["args"]["run_cmd"] == "web.sh"
    env = inspect(app.image, kind="image")[0]["Config"]["Env"]
    assert "RUN_CMD=web.sh" in env, env


def test_migrations_run_once_per_deploy(app):
    """PostgreSQL: release_command migrates, from a machine without volumes, and the web
    machines do not. SQLite has none: the database is on the web machine's volume, where
    web.sh migrates."""
    if app.combo.use_postgres:
        assert app.release is not None, "no release_command"
        assert "Applying" in app.release.stdout, app.release.output
        # Once per deploy: the web machine does not migrate again.
        assert app.config["env"].get("MIGRATE_ON_START") == "false"
        assert "Running migrations" not in app.logs(web_group(app)), app.logs(web_group(app))
    else:
        assert "release_command" not in app.config.get("deploy", {})
        assert "migrate" in (app.project / "src" / "scripts" / "web.sh").read_text()


def test_health_answers_200_with_flys_environment(app):
    """Fly's check: GET on [[http_service.checks]] path at internal_port, no redirect."""
    assert app.config["http_service"]["checks"][0]["path"] == "/health/"
    assert app.health.get("status") == "ok", (app.health, app.logs(web_group(app))[-4000:])


def _exited(app: RunningApp) -> dict | None:
    """Stop polling early, with the logs, when the web container died."""
    group = web_group(app)
    if not app.state(group)["Running"]:
        return {"status": "exited", "logs": app.logs(group)[-4000:]}
    return None


def test_every_process_runs_its_command(app):
    """[processes] groups each run their command (huey's consumer in `worker`); without a
    worker group, WORKER_BESIDE_WEB runs the consumer beside gunicorn (scripts/together.sh);
    without a worker, gunicorn alone."""
    env = app.config.get("env", {})
    if not app.combo.use_huey:
        assert "processes" not in app.config and "WORKER_BESIDE_WEB" not in env, app.config
        processes = app.processes("app")
        assert any("gunicorn" in p for p in processes), processes
        assert not any("run_huey" in p for p in processes), processes
    elif app.config.get("processes"):
        assert "WORKER_BESIDE_WEB" not in env
        assert any("gunicorn" in p for p in app.processes("web"))
        worker = wait_until(
            lambda: [p for p in app.processes("worker") if "run_huey" in p], 60, "run_huey"
        )
        assert worker, app.logs("worker")[-3000:]
        healthcheck = run(
            [
                "docker",
                "exec",
                app.containers["worker"],
                "python",
                "scripts/healthcheck.py",
                "worker",
            ]
        )
        assert healthcheck.returncode == 0, healthcheck.output
    else:
        assert env.get("WORKER_BESIDE_WEB") == "true"
        processes = wait_until(
            lambda: (ps := app.processes("app")) and any("run_huey" in p for p in ps) and ps,
            60,
            "run_huey beside gunicorn",
        )
        assert any("gunicorn" in p for p in processes), processes
        assert any("together.sh" in p for p in processes), processes
        if app.combo.use_litestream and env.get("DATABASE_URL", "").startswith("sqlite"):
            assert any(p.startswith("litestream replicate") for p in processes), processes
    for group in (g for g in app.containers if not g.startswith("service:")):
        assert app.state(group)["Running"], (group, app.logs(group)[-3000:])


def test_an_entry_posted_through_flys_proxy_is_processed(app):
    """The list page and its form, requested as Fly's proxy forwards them (the app's domain,
    X-Forwarded-Proto https), and the entry processed: by the huey consumer where there is
    one, which is therefore not a consumer that started and died."""
    origin = f"https://{app.domain}"
    title = f"fly {app.key} entry"
    post_entry(app.port, title, "through the proxy", origin=origin)
    try:
        count = wait_until(lambda: words(app.port, title, origin), 90, f"{title!r} processed")
    except AssertionError as exc:
        group = "worker" if app.config.get("processes") else "app"
        raise AssertionError(f"{exc}\n--- {group} ---\n{app.logs(group)[-3000:]}") from None
    assert count == len(f"{title} through the proxy".split())
    if app.combo.use_huey:
        group = "worker" if app.config.get("processes") else "app"
        assert "task process_entry successful" in app.logs(group), app.logs(group)[-3000:]


def test_stop_with_kill_signal_exits_0_within_kill_timeout(app):
    """Fly sends kill_signal and kills the machine after kill_timeout: every process group's
    container must exit 0 in that time."""
    signal = app.config.get("kill_signal", "SIGINT")
    timeout = int(app.config.get("kill_timeout", 5))
    groups = [g for g in app.containers if not g.startswith("service:")]
    for group in groups:  # the steady state: servers up, not still booting
        ready = ["Huey consumer started"] if group == "worker" else ["Listening at"]
        if group != "worker" and app.config["env"].get("WORKER_BESIDE_WEB") == "true":
            ready.append("Huey consumer started")
        wait_until(lambda g=group, r=ready: all(m in app.logs(g) for m in r), 60, f"{group} up")
    with timed(f"fly {app.id}: {signal} to exit"):
        start = time.monotonic()
        for group in groups:
            result = run(["docker", "kill", "--signal", signal, app.containers[group]])
            assert result.returncode == 0, result.output
        for group in groups:
            left = max(1.0, timeout - (time.monotonic() - start))
            wait_until(lambda g=group: not app.state(g)["Running"], left, f"{group} to stop")
    for group in groups:
        state = app.state(group)
        assert state["ExitCode"] == 0, (group, state, app.logs(group)[-3000:])
