"""The Fly.io image, built and started the way Fly would (issue 4), without Fly: every
distinct Fly app (harness/runtimes.py: its fly.toml and the image it builds), from the member
of its class closest to the defaults, deployed by harness/fly.py (build as `fly deploy` does,
databases attached, release command, process groups, volumes). Requests reach it as Fly's
proxy sends them: to internal_port, Host the app's domain, X-Forwarded-Proto https. Fly stops
a machine with kill_signal and kills it after kill_timeout: so does the last test here.
"""

from __future__ import annotations

import time

import pytest

from harness.commands import run, wait_until
from harness.docker import inspect
from harness.engine import require_engine
from harness.fly import FlyRun
from harness.http import alive, post_attachment, post_entry, words, writer
from harness.levels import members
from harness.projects import prepare
from harness.runtimes import FlyApp
from harness.stacks import timed

pytestmark = [pytest.mark.docker, pytest.mark.proof("fly apps run")]

APPS = members("fly apps run")


@pytest.fixture(scope="module", params=APPS, ids=lambda a: a.id)
def app(request, render, tmp_path_factory) -> FlyRun:
    """The class's Fly app, deployed as Fly deploys it: built from fly.toml's [build], its
    databases attached, its release command run, each process group started, healthy (on
    Fly the checks gate the deploy, so every test here starts from a healthy app)."""
    require_engine()
    flyapp: FlyApp = request.param
    project = prepare(render(flyapp.representative), tmp_path_factory.mktemp("fly") / "project")
    app = FlyRun(project, flyapp.key[:10])
    request.addfinalizer(app.teardown)
    with timed(f"fly {flyapp.id}: deployed and healthy"):
        app.deploy()
    return app


@pytest.fixture(scope="module")
def session(app) -> str:
    """A user made on the web machine and signed in through the proxy: who posts."""
    return writer(app.port, app.manage, f"https://{app.domain}")


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
        assert "Running migrations" not in app.logs(app.web_group), app.logs(app.web_group)
    else:
        assert "release_command" not in app.config.get("deploy", {})
        assert "migrate" in (app.project / "src" / "scripts" / "web.sh").read_text()


def test_flys_check_and_health_answer_200_with_flys_environment(app):
    """Fly's check: GET on [[http_service.checks]] path at internal_port, no redirect; and
    /health/, the readiness report, all ok."""
    check = app.config["http_service"]["checks"][0]["path"]
    assert (check, alive(app.port, check)) == ("/alive/", True)
    assert app.health.get("status") == "ok", (app.health, app.logs(app.web_group)[-4000:])


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
                app.machines["worker"],
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
    for group in app.machines:
        assert app.state(group)["Running"], (group, app.logs(group)[-3000:])


def test_an_entry_posted_through_flys_proxy_is_processed(app, session):
    """The list page and its form, requested as Fly's proxy forwards them (the app's domain,
    X-Forwarded-Proto https), and the entry processed: by the huey consumer where there is
    one, which is therefore not a consumer that started and died."""
    origin = f"https://{app.domain}"
    title = f"fly {app.network} entry"
    post_entry(app.port, title, "through the proxy", session, origin)
    try:
        count = wait_until(lambda: words(app.port, title, origin), 90, f"{title!r} processed")
    except AssertionError as exc:
        group = "worker" if app.config.get("processes") else "app"
        raise AssertionError(f"{exc}\n--- {group} ---\n{app.logs(group)[-3000:]}") from None
    assert count == len(f"{title} through the proxy".split())
    if app.combo.use_huey:
        group = "worker" if app.config.get("processes") else "app"
        assert "task process_entry successful" in app.logs(group), app.logs(group)[-3000:]


def test_an_upload_is_written_to_a_volume_a_deploy_keeps(app, session):
    """A Machine's own disk is new at every deploy: an upload posted through the proxy is
    written under MEDIA_ROOT, on a volume mounted on the web machine."""
    marker = f"uploaded to {app.network}\n".encode()
    post_attachment(app.port, "fly upload", "kept.txt", marker, session, f"https://{app.domain}")
    web = app.machines[app.web_group]
    media = app.config["env"]["MEDIA_ROOT"]
    mounts = inspect(web)[0]["Mounts"]
    assert any(
        m["Type"] == "volume" and media.startswith(m["Destination"] + "/") for m in mounts
    ), (media, mounts)
    found = run(["docker", "exec", web, "grep", "-rlF", marker.decode().strip(), media])
    assert found.returncode == 0 and found.stdout.strip(), found.output


def test_stop_with_kill_signal_exits_0_within_kill_timeout(app):
    """Fly sends kill_signal and kills the machine after kill_timeout: every process group's
    container must exit 0 in that time."""
    signal = app.config.get("kill_signal", "SIGINT")
    timeout = int(app.config.get("kill_timeout", 5))
    groups = list(app.machines)
    for group in groups:  # the steady state: servers up, not still booting
        ready = ["Huey consumer started"] if group == "worker" else ["Listening at"]
        if group != "worker" and app.config["env"].get("WORKER_BESIDE_WEB") == "true":
            ready.append("Huey consumer started")
        wait_until(lambda g=group, r=ready: all(m in app.logs(g) for m in r), 60, f"{group} up")
    with timed(f"fly {app.network}: {signal} to exit"):
        start = time.monotonic()
        for group in groups:
            result = run(["docker", "kill", "--signal", signal, app.machines[group]])
            assert result.returncode == 0, result.output
        for group in groups:
            left = max(1.0, timeout - (time.monotonic() - start))
            wait_until(lambda g=group: not app.state(g)["Running"], left, f"{group} to stop")
    for group in groups:
        state = app.state(group)
        assert state["ExitCode"] == 0, (group, state, app.logs(group)[-3000:])
