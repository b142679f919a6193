"""Generated projects run with docker compose, for the tests and scripts/benchmark.

* `prepare()`: a rendered project copied out of the render cache, with its `uv lock` (made
  once per distinct pyproject.toml, shared by the run's processes) and the `.env` that
  `just env` writes, ready for `docker build` and `docker compose`.
* `Stack`: one compose project (`docker compose -p NAME --profile P`) on its own loopback
  port, with an optional override file of the tests' own (`compose.tests.yaml`). Its name
  (`suite_name()`) is unique to this test session, so its containers, volumes and images
  never meet another session's on the same engine.
* `TIMINGS` / `timed()`: durations the suite measured, shown in pytest's terminal summary.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from harness import CACHE, SUITE_PREFIX
from harness.baseimages import ensure_for_compose, ensure_for_dockerfile
from harness.commands import free_port, run, tool, uv_env
from harness.docker import inspect
from harness.engine import remove_images

# Unique per session: compose project names, image names and volumes carry it.
TOKEN = f"t{os.getpid() % 100000}"
LOCKS = CACHE / "locks"
LOCK_MAX_AGE = 24 * 3600  # a day: new releases of the dependencies reach the next day's locks

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


# --- generated projects -------------------------------------------------------


def prepare(rendered: Path, destination: Path) -> Path:
    """Copy a rendered project, lock its dependencies (`uv lock`) and write .env (`just env`)."""
    shutil.copytree(rendered, destination, symlinks=True)
    lock(destination)
    assert (destination / ".env.example").exists(), "container tests render with secrets=dotenv"
    made = run([tool("just"), "env"], cwd=destination)
    assert made.returncode == 0, made.output
    return destination


def lock(project: Path) -> None:
    """src/uv.lock as `just lock` makes it, made once per pyproject.toml (and uv version) and
    shared: by the run's processes, and by the next runs of the same day."""
    src = project / "src"
    uv_version = run(["uv", "--version"], env=uv_env()).stdout.split()[1]
    cached = LOCKS / lock_key((src / "pyproject.toml").read_bytes(), uv_version) / "uv.lock"
    cached.parent.mkdir(parents=True, exist_ok=True)
    with open(cached.parent / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not cached.exists() or time.time() - cached.stat().st_mtime > LOCK_MAX_AGE:
            _uv_lock(src, uv_version)
            shutil.copyfile(src / "uv.lock", cached)
    shutil.copyfile(cached, src / "uv.lock")


def lock_key(pyproject: bytes, uv_version: str) -> str:
    return hashlib.sha256(pyproject + b"\0" + uv_version.encode()).hexdigest()[:16]


def _uv_lock(src: Path, uv_version: str) -> None:
    """`uv lock` in src/. uv needs an interpreter of the project's Python; where this machine
    has none (and uv cannot download one, as here for 3.14), the lock is made inside the
    project's own base image, which has it. The lock is the same universal file either way."""
    locked = run(["uv", "lock"], cwd=src, env=uv_env(), timeout=300)
    if locked.returncode == 0:
        return
    assert "No interpreter found" in locked.output, locked.output
    base = ensure_for_dockerfile(next(src.parent.glob("deploy/*/Dockerfile")))[0].tag
    script = (
        "python -m venv /tmp/uv && /tmp/uv/bin/pip install --quiet uv==$UV_VERSION"
        " && /tmp/uv/bin/uv lock && chown $OWNER uv.lock"
    )
    in_image = run(
        ["docker", "run", "--rm", "--volume", f"{src}:/src", "--workdir", "/src",
         "--volume", f"{SUITE_PREFIX}lock-cache:/cache", "--env", "UV_CACHE_DIR=/cache/uv",
         "--env", "PIP_CACHE_DIR=/cache/pip", "--env", "UV_PYTHON_DOWNLOADS=never",
         "--env", f"UV_VERSION={uv_version}", "--env", f"OWNER={os.getuid()}:{os.getgid()}",
         base, "sh", "-c", script],
        timeout=600,
    )  # fmt: skip
    assert in_image.returncode == 0, f"{locked.output}\n{in_image.output}"


def plant_decoys(src: Path) -> list[str]:
    """Files a developer's src/ really holds after local work, none of which may reach an
    image: secrets, SQLite databases with their journals, collected static and media files,
    a virtualenv. Returns their paths relative to src/."""
    decoys = {
        ".env": "SECRET_KEY=decoy-secret-must-not-reach-an-image\n",
        ".env.local": "SECRET_KEY=decoy\n",
        "config/.env": "SECRET_KEY=decoy\n",
        "config/.env.production": "SECRET_KEY=decoy\n",
        "staticfiles/decoy.css": "body{}\n",
        "mediafiles/decoy.txt": "upload\n",
        ".venv/decoy.txt": "venv\n",
    }
    for rel, text in decoys.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    databases = ("db.sqlite3", "huey.sqlite3", "test_db.sqlite3", "data.db", "data/nested.sqlite3")
    for rel in databases:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(src / rel)) as db:
            db.execute("CREATE TABLE decoy (secret TEXT)")
            db.execute("INSERT INTO decoy VALUES ('must not reach an image')")
            db.commit()
    for rel in ("db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"):
        (src / rel).write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    return sorted([*decoys, *databases])


# --- compose stacks ------------------------------------------------------------------

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
