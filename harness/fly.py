"""A generated project's Fly.io app, run on this engine the way Fly runs it, without Fly.

Build: `just deploy` runs `fly deploy src --config ../fly.toml`, so the build context is src/;
the Dockerfile is fly.toml's [build] dockerfile, relative to fly.toml's folder; the build
arguments are [build.args]. Deploy: the [deploy] release_command first, on a temporary
machine without volumes (RELEASE_COMMAND=1), then one machine per [processes] group (or one
`app` machine running CMD), each with fly.toml's [env], the secrets `fly secrets set` would
hold, the variables Fly sets (FLY_APP_NAME, PRIMARY_REGION, ...) and a volume at each
[[mounts]] destination of the groups it names (all when it names none); http_service's
groups publish internal_port on 127.0.0.1. A new deploy (`deploy()` again, after the project changed) builds, runs the new release command
against the same databases while the old machines still run, then replaces the machines,
volumes kept.

Stand-ins, named as such: PostgreSQL and Redis run as containers on a network of the app's
(Fly apps attach managed ones by URL secrets); the litestream replica, an S3 bucket on Fly, is
a second volume at /replica (LITESTREAM_REPLICA_URL=file:///replica/db).
"""

from __future__ import annotations

import re
import secrets
import shlex
import tomllib
from pathlib import Path

import yaml

from harness.baseimages import ensure_for_dockerfile, ensure_images
from harness.combinations import Combination, questions
from harness.commands import free_port, run, wait_until
from harness.docker import inspect
from harness.http import alive, healthy
from harness.images import Built, build_image, remove_images
from harness.stacks import PROCESS_COMMANDS, suite_name


def just_deploy_paths(project: Path) -> tuple[Path, Path]:
    """(build context, fly.toml) as flyctl resolves them for the justfile's deploy recipe:
    `fly deploy WORKING_DIRECTORY --config PATH` first changes into WORKING_DIRECTORY (the
    build context), then resolves PATH from there."""
    justfile = (project / "justfile").read_text()
    command = re.search(r"^\s+fly deploy (\S+) --config (\S+)\s*$", justfile, re.MULTILINE)
    assert command, "the justfile has no `fly deploy WORKING_DIRECTORY --config PATH`"
    context = (project / command[1]).resolve()
    return context, (context / command[2]).resolve()


class FlyRun:
    """One Fly app of a prepared project (`harness.projects.prepare`), named `suite_name(key)`."""

    def __init__(self, project: Path, key: str) -> None:
        self.project = project
        self.network = suite_name("fly", key)
        self.image = f"{self.network}:fly"
        self.port = free_port()
        self.services: dict[str, str] = {}  # postgres, redis -> container
        self.machines: dict[str, str] = {}  # process group -> container
        self.volumes: list[str] = []
        self.password = secrets.token_hex(12)
        self.secret_key = secrets.token_urlsafe(50)
        self.built: Built | None = None
        self.release = None  # the last release_command's finished process
        self.health: dict = {}

    @property
    def config(self) -> dict:
        """fly.toml, read from where `just deploy` reads it (as it is now: a deploy after an
        update reads the new one)."""
        context, fly_toml = just_deploy_paths(self.project)
        assert fly_toml == (self.project / "fly.toml").resolve(), f"`just deploy` reads {fly_toml}"
        assert context == (self.project / "src").resolve() and (context / ".dockerignore").is_file()
        return tomllib.loads(fly_toml.read_text())

    @property
    def answers(self) -> dict:
        return yaml.safe_load((self.project / ".copier-answers.yml").read_text())

    @property
    def domain(self) -> str:
        return self.answers["domain"]

    @property
    def combo(self) -> Combination:
        """The project's recorded answers, as a combination (its derived values by copier.yml's
        rules: `.use_postgres`, `.use_redis`, ...)."""
        answers = self.answers
        return Combination(tuple((q, answers[q]) for q in questions() if q in answers))

    @property
    def web_group(self) -> str:
        served = self.config["http_service"].get("processes")
        return served[0] if served else "app"

    def env(self) -> list[str]:
        """--network and --env flags of every machine: [env], the secrets, and what Fly sets."""
        config = self.config
        values = {key: str(value) for key, value in config.get("env", {}).items()}
        values |= {
            "FLY_APP_NAME": config["app"],
            "FLY_REGION": config["primary_region"],
            "PRIMARY_REGION": config["primary_region"],
            "SECRET_KEY": self.secret_key,
        }
        if self.combo.use_postgres:
            values["DATABASE_URL"] = f"postgres://app:{self.password}@postgres:5432/app"
        if self.combo.use_redis:
            values["REDIS_URL"] = "redis://redis:6379/0"
        if (self.project / "src" / "litestream.yml").exists():
            values["LITESTREAM_REPLICA_URL"] = "file:///replica/db"
        return ["--network", self.network, *(f"--env={k}={v}" for k, v in values.items())]

    def deploy(self) -> None:
        """`just deploy` as Fly carries it out: build, databases attached (the first time),
        release command, machines replaced, healthy (Fly's checks gate a deploy)."""
        self.build()
        if run(["docker", "network", "inspect", self.network]).returncode != 0:
            self.attach()
        self.release_command()
        self.stop_machines()
        self.start_machines()
        check = self.config["http_service"]["checks"][0]["path"]
        answered = wait_until(
            lambda: alive(self.port, check) or self._exited(), 120, f"{check} answering 200"
        )
        assert answered is True, answered
        self.health = wait_until(
            lambda: healthy(self.port) or self._exited(), 60, "/health/ all ok"
        )
        assert self.health.get("status") != "exited", self.health

    def build(self) -> None:
        """`fly deploy src --config ../fly.toml`: context src/, the Dockerfile relative to
        fly.toml's folder, [build.args]."""
        build = self.config["build"]
        dockerfile = self.project / build["dockerfile"]
        ensure_for_dockerfile(dockerfile)
        self.built = build_image(
            self.image, self.project / "src", dockerfile, build.get("args", {})
        )
        assert self.built.ok, self.built.tail(40)

    def attach(self) -> None:
        """PostgreSQL and Redis on the app's network, where it reaches them by URL."""
        assert run(["docker", "network", "create", self.network]).returncode == 0
        if self.combo.use_postgres:
            self._service("postgres", "postgres:17", ["--env=POSTGRES_USER=app",
                          f"--env=POSTGRES_PASSWORD={self.password}", "--env=POSTGRES_DB=app"])  # fmt: skip
            # Over TCP: the image's first-start init runs a temporary server on the socket only.
            wait_until(
                lambda: run(["docker", "exec", self.services["postgres"], "pg_isready",
                             "--host=127.0.0.1", "--username=app", "--dbname=app"]).returncode == 0,
                60, "postgres ready",
            )  # fmt: skip
        if self.combo.use_redis:
            self._service("redis", "redis:8", command=["redis-server", "--appendonly", "yes"])

    def _service(self, name: str, image: str, flags=(), command=()) -> None:
        ensure_images(image)
        container = f"{self.network}-{name}"
        result = run(["docker", "run", "--detach", "--name", container, "--network", self.network,
                      "--network-alias", name, *flags, image, *command])  # fmt: skip
        assert result.returncode == 0, result.output
        self.services[name] = container

    def release_command(self) -> None:
        """[deploy] release_command, on a temporary machine without volumes."""
        release = self.config.get("deploy", {}).get("release_command")
        self.release = None
        if release:
            self.release = run(
                ["docker", "run", "--rm", *self.env(), "--env=RELEASE_COMMAND=1", self.image,
                 *shlex.split(release)],
                timeout=300,
            )  # fmt: skip
            assert self.release.returncode == 0, self.release.output

    def start_machines(self) -> None:
        """One machine per process group, with the [[mounts]] volumes (and the stand-in
        bucket); the served groups publish internal_port."""
        config = self.config
        groups = config.get("processes") or {"app": None}
        bucket = []
        if "LITESTREAM_REPLICA_URL=file:///replica/db" in " ".join(self.env()):
            bucket = ["--volume", f"{self._volume('bucket')}:/replica"]
        internal_port = config["http_service"]["internal_port"]
        served = config["http_service"].get("processes") or list(groups)
        for group, command in groups.items():
            mounts = list(bucket)
            for mount in config.get("mounts", []):
                if group in mount.get("processes", list(groups)):
                    mounts += [
                        "--volume",
                        f"{self._volume(mount['source'])}:{mount['destination']}",
                    ]
            name = f"{self.network}-{group}"
            publish = (
                ["--publish", f"127.0.0.1:{self.port}:{internal_port}"] if group in served else []
            )
            result = run(
                ["docker", "run", "--detach", "--name", name, *self.env(),
                 f"--env=FLY_PROCESS_GROUP={group}", *mounts, *publish, self.image,
                 *(shlex.split(command) if command else [])],
            )  # fmt: skip
            assert result.returncode == 0, result.output
            self.machines[group] = name

    def _volume(self, source: str) -> str:
        name = f"{self.network}-{source}"
        if name not in self.volumes:
            self.volumes.append(name)
        return name

    def stop_machines(self) -> None:
        """The process groups' machines gone (a deploy replaces them); volumes stay."""
        for container in self.machines.values():
            run(["docker", "rm", "--force", container])
        self.machines.clear()

    def teardown(self) -> None:
        self.stop_machines()
        for container in self.services.values():
            run(["docker", "rm", "--force", "--volumes", container])
        run(["docker", "network", "rm", self.network])
        if self.volumes:
            run(["docker", "volume", "rm", *self.volumes])
        remove_images(self.image)

    def manage(self, *args: str, env: dict[str, str] | None = None):
        """`python manage.py ...` on the web machine, as `fly ssh console` runs it."""
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        machine = self.machines[self.web_group]
        return run(["docker", "exec", *flags, machine, "python", "manage.py", *args], timeout=120)

    def logs(self, group: str) -> str:
        result = run(["docker", "logs", self.machines[group]])
        return result.stdout + result.stderr

    def state(self, group: str) -> dict:
        return inspect(self.machines[group])[0]["State"]

    def processes(self, group: str) -> list[str]:
        result = run(["docker", "exec", self.machines[group], "python", "-c", PROCESS_COMMANDS])
        return result.stdout.splitlines()

    def _exited(self) -> dict | None:
        """Stop polling early, with the logs, when the web machine died."""
        if not self.state(self.web_group)["Running"]:
            return {"status": "exited", "logs": self.logs(self.web_group)[-4000:]}
        return None
