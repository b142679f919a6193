"""Generated projects run with docker compose, once harness/projects.py has prepared them, for
the tests and scripts/benchmark.

* `Stack`: one compose project (`docker compose -p NAME --profile P`) on its own loopback
  port, with an optional override file of the tests' own (`compose.tests.yaml`). Its name
  (`suite_name()`) is unique to this test session, so its containers, volumes and images
  never meet another session's on the same engine.
* `TIMINGS` / `timed()`: durations the suite measured, shown in pytest's terminal summary.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from harness import SUITE_PREFIX
from harness.baseimages import ensure_for_compose
from harness.commands import free_port, run, uv_env
from harness.docker import inspect
from harness.images import remove_images

# Unique per session: compose project names, image names and volumes carry it.
TOKEN = f"t{os.getpid() % 100000}"

TIMINGS: list[str] = []  # "what: 12.3s", drained into test reports (harness/pytest_plugin.py)


def suite_name(*parts: str) -> str:
    """A name for something this session puts on the engine: prefix, session, parts."""
    return "-".join([f"{SUITE_PREFIX}{TOKEN}", *parts])


@contextlib.contextmanager
def timed(what: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        TIMINGS.append(f"{what}: {time.monotonic() - start:.1f}s")


OVERRIDE = "compose.tests.yaml"


class Stack:
    """`docker compose -p NAME --profile PROFILE` for one generated project. NAME comes from
    suite_name(); compose.yaml names the image it builds NAME-PROFILE. `override`, a compose
    file's content as a dict, is the tests' own addition (written to compose.tests.yaml and
    read after compose.yaml, as a team's override file would be)."""

    def __init__(self, project: Path, name: str, profile: str, override: dict | None = None):
        self.project = project
        self.name = name
        self.profile = profile
        self.port = free_port()
        self.web = f"web-{profile}"
        self.worker = f"worker-{profile}"
        self.image = f"{name}-{profile}"
        self.has_worker = (project / "src" / "scripts" / "worker.sh").exists()
        self.set_override(override)

    def set_override(self, override: dict | None) -> None:
        """The tests' compose override from now on (None: compose.yaml alone)."""
        self.override = override
        if override:
            (self.project / OVERRIDE).write_text(yaml.safe_dump(override, sort_keys=False))

    @property
    def files(self) -> tuple[str, ...]:
        return ("compose.yaml", OVERRIDE) if self.override else ("compose.yaml",)

    def compose(self, *args: str, timeout: float = 600):
        command = ["docker", "compose", "-p", self.name, "--profile", self.profile, *args]
        return run(command, cwd=self.project, env=self.env(), timeout=timeout)

    def ensure_images(self) -> None:
        """The base images of what it builds and the images it runs, before anything starts
        (compose would try to pull a missing one, and fail on a machine without a registry)."""
        ensure_for_compose(self.project, self.profile, self.files, env=self.env())

    def env(self) -> dict[str, str]:
        """For commands on this stack: compose, and the project's `just` recipes, which call
        compose without `-p` (hence the project name) and uv."""
        return {
            **uv_env(),
            "WEB_PORT": str(self.port),
            "COMPOSE_PROJECT_NAME": self.name,
            "COMPOSE_FILE": os.pathsep.join(self.files),
        }

    def build(self):
        self.ensure_images()
        result = self.compose("build", timeout=1800)
        assert result.returncode == 0, result.output
        return result

    def up(self, *services: str, build: bool = False, wait: bool = True, deps: bool = True):
        self.ensure_images()
        args = ["up", "--detach"]
        if build:
            args.append("--build")
        if wait:
            args += ["--wait", "--wait-timeout", "240"]
        if not deps:
            args.append("--no-deps")
        result = self.compose(*args, *services, timeout=900)
        if wait and result.returncode != 0:
            raise AssertionError(f"{result.output}\n--- logs ---\n{self.logs()}")
        return result

    def down(self, volumes: bool = False):
        return self.compose("down", *(["--volumes"] if volumes else []), timeout=300)

    def remove(self) -> None:
        """Containers, volumes and the image it built: gone."""
        self.down(volumes=True)
        remove_images(self.image)

    def logs(self, *services: str) -> str:
        """The services' logs (every service's without any): from the engine by container when
        there is one service, which spares a compose process."""
        if len(services) == 1:
            return run(["docker", "logs", self.container(services[0])]).output
        return self.compose("logs", "--no-color", "--no-log-prefix", *services).output

    def container(self, service: str) -> str:
        """The service's container id, found by the labels compose gives it (by the engine:
        a compose process costs several times a docker one)."""
        labels = [f"label=com.docker.compose.project={self.name}",
                  f"label=com.docker.compose.service={service}"]  # fmt: skip
        result = run(
            ["docker", "ps", "--all", "--quiet", *(a for f in labels for a in ("--filter", f))]
        )
        ids = result.stdout.split()
        assert result.returncode == 0 and ids, f"no container for {service}: {result.output}"
        return ids[0]

    def inspect(self, service: str) -> dict:
        return inspect(self.container(service))[0]

    def exec(self, service: str, *command: str, env: dict[str, str] | None = None):
        """`docker compose exec -T`, as `docker exec` on the service's container."""
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        return run(["docker", "exec", "-i", *flags, self.container(service), *command], timeout=120)

    def manage(self, *args: str, env: dict[str, str] | None = None):
        """`python manage.py ...` in the web container."""
        return self.exec(self.web, "python", "manage.py", *args, env=env)

    def health_command(self, service: str):
        """The service's own healthcheck command, run now in its container (rather than
        waiting for Docker's next interval): the finished process."""
        test = self.inspect(service)["Config"]["Healthcheck"]["Test"]
        assert test[0] in {"CMD", "CMD-SHELL"}, test
        command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
        return self.exec(service, *command)

    def volume(self, name: str) -> str:
        return f"{self.name}_{name}"


# The uid of every process in a container, read from /proc by the container's own Python.
PROCESS_UIDS = (
    "import glob, json\n"
    "uids = {}\n"
    "for status in glob.glob('/proc/[0-9]*/status'):\n"
    "    try:\n"
    "        fields = dict(l.split(':', 1) for l in open(status) if ':' in l)\n"
    "    except OSError:\n"
    "        continue\n"
    "    uids[status.split('/')[2]] = (fields['Name'].strip(), fields['Uid'].split()[0])\n"
    "print(json.dumps(uids))\n"
)

# Every process's command line, for "is the huey consumer running here?"
PROCESS_COMMANDS = (
    "import glob\n"
    "for cmdline in glob.glob('/proc/[0-9]*/cmdline'):\n"
    "    try:\n"
    "        print(open(cmdline, 'rb').read().replace(b'\\0', b' ').decode().strip())\n"
    "    except OSError:\n"
    "        pass\n"
)
