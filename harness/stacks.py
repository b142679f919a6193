"""Generated projects run in containers, for the tests (test_containers.py, test_litestream.py,
test_fly_image.py, ...) and for scripts/benchmark.

* `prepare()`: a rendered project copied out of the render cache, with a real `uv lock` and
  the `.env` that `just env` writes, ready for `docker build` and `docker compose`.
* `Stack`: one compose project (`docker compose -p NAME --profile P`) on its own loopback
  port; its name is unique to this test session, so its containers, volumes and images never
  meet another session's on the same engine.
* HTTP from the host to 127.0.0.1 only: `get()`, `post_entry()`, `words()`, and `Load`,
  steady traffic from threads, bounded in requests and seconds.
* `TIMINGS` / `timed()`: durations the suite measured, shown in pytest's terminal summary.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Self
from urllib.parse import urlencode

from harness.commands import free_port, run, tool, uv_env
from harness.engine import SUITE_PREFIX, ensure_for_compose, ensure_for_dockerfile, remove_images

# Unique per session: compose project names, image names and volumes carry it.
TOKEN = f"t{os.getpid() % 100000}"

TIMINGS: list[str] = []  # "what: 12.3s", drained into test reports (harness/pytest_plugin.py)


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
    if (destination / ".env.example").exists():
        made = run([tool("just"), "env"], cwd=destination)
        assert made.returncode == 0, made.output
    else:  # 1Password: no `op` here, so the plain example stands in for the injected file
        raise AssertionError("container tests render with secrets=dotenv")
    return destination


def lock(project: Path) -> None:
    """`uv lock` in src/, as `just lock` runs it. uv needs an interpreter of the project's
    Python; where this machine has none (and uv cannot download one, as here for 3.14), the
    lock is made inside the project's own base image, which has it. The lock is the same
    universal file either way."""
    src = project / "src"
    locked = run(["uv", "lock"], cwd=src, env=uv_env(), timeout=300)
    if locked.returncode == 0:
        return
    assert "No interpreter found" in locked.output, locked.output
    base = ensure_for_dockerfile(next(project.glob("deploy/*/Dockerfile")))[0].tag
    version = run(["uv", "--version"]).stdout.split()[1]
    script = (
        "python -m venv /tmp/uv && /tmp/uv/bin/pip install --quiet uv==$UV_VERSION"
        " && /tmp/uv/bin/uv lock && chown $OWNER uv.lock"
    )
    in_image = run(
        ["docker", "run", "--rm", "--volume", f"{src}:/src", "--workdir", "/src",
         "--volume", f"{SUITE_PREFIX}lock-cache:/cache", "--env", "UV_CACHE_DIR=/cache/uv",
         "--env", "PIP_CACHE_DIR=/cache/pip", "--env", "UV_PYTHON_DOWNLOADS=never",
         "--env", f"UV_VERSION={version}", "--env", f"OWNER={os.getuid()}:{os.getgid()}",
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


# --- HTTP from the host (127.0.0.1 only) -----------------------------------------


def request(port: int, method: str, path: str, headers=None, body: str | None = None,
            origin: str | None = None):  # fmt: skip
    """One request to 127.0.0.1:port for the site at `origin`: by default as the browser on
    this machine sends it (http://localhost:port); an https origin as a TLS-terminating proxy
    (Fly's) forwards it: Host from the origin, X-Forwarded-Proto: https.
    Returns (status, headers, text)."""
    scheme, host = (origin or f"http://localhost:{port}").split("://")
    sent = {"Host": host, **({"X-Forwarded-Proto": "https"} if scheme == "https" else {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        conn.close()


def get(port: int, path: str = "/", origin: str | None = None):
    return request(port, "GET", path, origin=origin)


def health(port: int, path: str = "/health/") -> tuple[int, dict]:
    status, _, text = get(port, path)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"unparsed": text[:300]}


def healthy(port: int, path: str = "/health/") -> dict | None:
    """The /health/ document when it answers 200 with every check "ok", else None (also
    when nothing answers)."""
    try:
        status, document = health(port, path)
    except (OSError, http.client.HTTPException):
        return None
    checks = document.get("checks") or {}
    if status == 200 and checks and all(state == "ok" for state in checks.values()):
        return document
    return None


def post_entry(port: int, title: str, body: str, origin: str | None = None) -> None:
    """Create an entry through the app's form, with Django's CSRF protection satisfied the
    way a browser does it. The csrftoken cookie is Secure (production settings), so a cookie
    jar would not send it over http: the Cookie header is set by hand."""
    status, headers, page = get(port, "/", origin)
    assert status == 200, f"GET / answered {status}: {page[:500]}"
    cookies = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookies.load(value)
    assert "csrftoken" in cookies, f"no csrftoken cookie: {headers.get_all('Set-Cookie')}"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no csrfmiddlewaretoken in the form"
    origin = origin or f"http://localhost:{port}"
    status, headers, text = request(
        port,
        "POST",
        "/",
        headers={
            "Cookie": f"csrftoken={cookies['csrftoken'].value}",
            "Origin": origin,
            "Referer": f"{origin}/",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=urlencode({"csrfmiddlewaretoken": token[1], "title": title, "body": body}),
        origin=origin,
    )
    assert status == 302, f"POST / answered {status}, expected a redirect: {text[:800]}"


def post_attachment(port: int, title: str, filename: str, content: bytes) -> None:
    """Create an entry with an attachment through the form, as a browser posts it
    (multipart/form-data, CSRF cookie and token as in post_entry)."""
    status, headers, page = get(port, "/")
    assert status == 200, f"GET / answered {status}: {page[:500]}"
    cookies = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookies.load(value)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token and "csrftoken" in cookies, "no CSRF cookie or token on the page"
    boundary = f"sdt-{os.urandom(8).hex()}"
    fields = {"csrfmiddlewaretoken": token[1], "title": title, "body": ""}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    origin = f"http://localhost:{port}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/",
            body=b"".join(parts),
            headers={
                "Host": f"localhost:{port}",
                "Cookie": f"csrftoken={cookies['csrftoken'].value}",
                "Origin": origin,
                "Referer": f"{origin}/",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
    finally:
        conn.close()
    assert response.status == 302, f"POST / answered {response.status}: {text[:800]}"


def download(port: int, path: str) -> tuple[int, bytes]:
    """GET path from 127.0.0.1:port as the local browser does: (status, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": f"localhost:{port}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def words(port: int, title: str, origin: str | None = None) -> int | None | bool:
    """On the list page: the entry's word count once processed, None while pending,
    False when the entry is not listed."""
    status, _, page = get(port, "/", origin)
    if status != 200:
        return False
    match = re.search(
        rf"<strong>{re.escape(title)}</strong>\s*<span class=\"(processed|pending)\">([^<]*)<",
        page,
    )
    if match is None:
        return False
    if match[1] == "pending":
        return None
    return int(match[2].split()[0])


@dataclass
class Answer:
    started: float
    seconds: float
    status: int  # 0: no HTTP answer at all


@dataclass
class Load:
    """GET `path` from `threads` threads back to back (a pause of `pause` s between one
    thread's requests), from entering the block until leaving it, or `limit` requests, or
    `max_seconds`: whichever comes first."""

    port: int
    threads: int = 4
    pause: float = 0.02
    limit: int = 20000
    max_seconds: float = 300
    path: str = "/"
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)
        ]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if len(self.answers) >= self.limit:
                    return
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                conn.request("GET", self.path, headers={"Host": f"localhost:{self.port}"})
                response = conn.getresponse()
                response.read()
                conn.close()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
            with self._lock:
                self.answers.append(Answer(started, time.monotonic() - started, status))
            self._stop.wait(self.pause)

    def __enter__(self) -> Self:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def between(self, start: float, end: float = float("inf")) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.started <= end]

    @staticmethod
    def summary(answers: list[Answer]) -> dict:
        ok = sorted(a.seconds for a in answers if a.status == 200)
        return {
            "sent": len(answers),
            "failed": sum(1 for a in answers if a.status != 200),
            "statuses": sorted({a.status for a in answers}),
            "p95_ms": round(ok[max(int(len(ok) * 0.95) - 1, 0)] * 1000, 1) if ok else None,
        }


# --- compose stacks ------------------------------------------------------------------


class Stack:
    """`docker compose -p NAME --profile PROFILE` for one generated project. NAME starts with
    engine.SUITE_PREFIX; compose.yaml names the image it builds NAME-PROFILE."""

    def __init__(self, project: Path, name: str, profile: str) -> None:
        self.project = project
        self.name = name
        self.profile = profile
        self.port = free_port()
        self.web = f"web-{profile}"
        self.worker = f"worker-{profile}"
        self.image = f"{name}-{profile}"
        self.has_worker = (project / "src" / "scripts" / "worker.sh").exists()

    def compose(self, *args: str, timeout: float = 600):
        command = ["docker", "compose", "-p", self.name, "--profile", self.profile, *args]
        return run(command, cwd=self.project, env=self.env(), timeout=timeout)

    def ensure_images(self) -> None:
        """The base images of what it builds and the images it runs, before anything starts
        (compose would try to pull a missing one, and fail on a machine without a registry)."""
        ensure_for_compose(self.project, self.profile, env=self.env())

    def env(self) -> dict[str, str]:
        """For commands on this stack: compose, and the project's `just` recipes, which call
        compose without `-p` (hence the project name) and uv."""
        return {**uv_env(), "WEB_PORT": str(self.port), "COMPOSE_PROJECT_NAME": self.name}

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
        return self.compose("logs", "--no-color", "--no-log-prefix", *services).output

    def container(self, service: str) -> str:
        result = self.compose("ps", "--all", "--quiet", service)
        ids = result.stdout.split()
        assert ids, f"no container for {service}: {result.output}"
        return ids[0]

    def inspect(self, service: str) -> dict:
        result = run(["docker", "inspect", self.container(service)])
        assert result.returncode == 0, result.output
        return json.loads(result.stdout)[0]

    def exec(self, service: str, *command: str, env: dict[str, str] | None = None):
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        return self.compose("exec", "-T", *flags, service, *command, timeout=120)

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
