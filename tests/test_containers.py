"""The generated projects' containers, built and run on a real Docker engine (issue 3).

Images: every distinct Dockerfile over all combinations (deduplicated by content; the build
matrix renders with the default project name, so only the answers change it) is built once,
from a copy of a project that uses it, after a real `uv lock` and with decoy secrets and
databases planted in src/. A python_version whose base image cannot be had is reported as
"not built: <reason>" (a skip, never a pass).

Stacks: `docker compose -p <unique> --profile pg|sq up --build --wait` with the huey worker,
then requests from the host to 127.0.0.1. One stack per profile serves all of its tests; the
last one stops it, and `down --volumes` always runs at the end.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from combinations import Combination, all_combinations, one, questions
from conftest import digest
from engine import (
    SQLITE_MAGIC,
    ImageSource,
    build_image,
    ensure_image,
    image_config,
    layer_files,
    remove_images,
    require_engine,
)
from stacks import (
    PROCESS_UIDS,
    TOKEN,
    Stack,
    healthy,
    plant_decoys,
    post_entry,
    prepare,
    record_timings,  # noqa: F401  (autouse fixture)
    run,
    slug_of,
    timed,
    wait_until,
    words,
)

pytestmark = pytest.mark.docker

PYTHON_VERSIONS = questions()["python_version"]["choices"]
DEFAULT_PYTHON = questions()["python_version"]["default"]
APP_UID = "10001"


# --- the build matrix -------------------------------------------------------------


@dataclass
class Variant:
    """One distinct Dockerfile and the combinations that render it."""

    key: str
    path: str  # deploy/pg/Dockerfile or deploy/sq/Dockerfile
    text: str
    combos: list[Combination]

    @property
    def base(self) -> str:
        tags = set(re.findall(r"^FROM (\S+)", self.text, re.MULTILINE))
        assert len(tags) == 1, f"{self.path}: expected one base image, found {tags}"
        return tags.pop()

    @property
    def python_version(self) -> str:
        return re.fullmatch(r"python:(\d+\.\d+)-slim-trixie", self.base)[1]

    @property
    def kind(self) -> str:
        return Path(self.path).parent.name  # pg or sq

    @property
    def litestream(self) -> bool:
        return "--group litestream" in self.text

    @property
    def representative(self) -> Combination:
        """The combination with the most moving parts, so its image holds the most."""
        return max(
            self.combos,
            key=lambda c: (
                c.use_huey,
                c.use_redis,
                c.use_postgres and c.use_sqlite,
                c.get("debugpy"),
            ),
        )

    @property
    def name(self) -> str:
        """Readable and unique: e.g. sq-py3.13-litestream-1a2b3c."""
        litestream = "-litestream" if self.litestream else ""
        return f"{self.kind}-py{self.python_version}{litestream}-{self.key[:6]}"


@dataclass
class Image:
    variant: Variant
    tag: str
    context: Path
    decoys: list[str]
    built: object  # engine.Built


@dataclass
class Matrix:
    variants: list[Variant]
    bases: dict[str, ImageSource]
    images: list[Image]

    def built(self) -> list[Image]:
        return [image for image in self.images if image.built.ok]


def distinct_dockerfiles(render) -> list[Variant]:
    variants: dict[str, Variant] = {}
    for combo in all_combinations():
        project = render(combo)
        for dockerfile in sorted(project.glob("deploy/*/Dockerfile")):
            text = dockerfile.read_text()
            rel = dockerfile.relative_to(project).as_posix()
            key = digest(rel, text)
            variants.setdefault(key, Variant(key, rel, text, [])).combos.append(combo)
    return sorted(variants.values(), key=lambda v: (v.python_version, v.kind, v.litestream))


@pytest.fixture(scope="session")
def matrix(render, tmp_path_factory) -> Matrix:
    """Every distinct Dockerfile, built once (those whose base image is available)."""
    require_engine()
    variants = distinct_dockerfiles(render)
    bases = {base: ensure_image(base) for base in sorted({v.base for v in variants})}
    root = tmp_path_factory.mktemp("matrix")
    images: list[Image] = []
    try:
        for variant in variants:
            if not bases[variant.base].available:
                continue
            project = prepare(render(variant.representative), root / variant.name)
            decoys = plant_decoys(project / "src")
            tag = f"start-django-test/{variant.name}:{TOKEN}"
            with timed(f"build {variant.name} ({variant.path})"):
                built = build_image(tag, project / "src", project / variant.path)
            images.append(Image(variant, tag, project / "src", decoys, built))
        yield Matrix(variants, bases, images)
    finally:
        remove_images(*(image.tag for image in images))


def docker_run(tag: str, *command: str, user: str | None = None, timeout: float = 120):
    flags = ["--user", user] if user else []
    return run(
        ["docker", "run", "--rm", "--network", "none", *flags, tag, *command], timeout=timeout
    )


def test_python_version_changes_only_the_base_tag(render):
    """Dockerfiles of combinations that differ only in python_version differ only in the
    version inside `FROM python:<version>-slim-trixie`."""
    by_rest: dict[tuple, dict[str, str]] = {}
    for variant in distinct_dockerfiles(render):
        normalized = variant.text.replace(f"python:{variant.python_version}-", "python:X-")
        by_rest.setdefault((variant.path, normalized), {})[variant.python_version] = variant.key
    for (path, _), versions in by_rest.items():
        assert sorted(versions) == sorted(PYTHON_VERSIONS), f"{path}: {versions}"


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_every_distinct_dockerfile_builds(matrix, python_version):
    variants = [v for v in matrix.variants if v.python_version == python_version]
    assert variants, f"no Dockerfile uses Python {python_version}"
    base = matrix.bases[variants[0].base]
    if not base.available:
        assert python_version != DEFAULT_PYTHON, f"the default Python must build: {base}"
        pytest.skip(
            f"not built: {len(variants)} Dockerfile(s) on {base.tag}: {base.detail}",
        )
    for image in (i for i in matrix.images if i.variant.python_version == python_version):
        assert image.built.ok, f"{image.variant.name} did not build:\n{image.built.tail(40)}"
        # The build used the project's own lock file, and nothing was resolved anew.
        assert "uv sync --locked" in image.built.log, image.built.tail()
        assert (image.context / "uv.lock").is_file()


def test_images_run_as_non_root(matrix):
    assert matrix.built()
    for image in matrix.built():
        user = image_config(image.tag)["User"]
        assert user and user.split(":")[0] not in {"0", "root"}, f"{image.tag}: User={user!r}"
        result = docker_run(image.tag, "id", "-u")
        assert result.returncode == 0, result.output
        assert result.stdout.strip() == APP_UID, f"{image.tag}: {result.output}"


FORBIDDEN_IN_FINAL_STAGE = (
    # A compiler, build tools or uv: the build stage's business.
    "for tool in gcc cc g++ c++ make uv; do"
    ' if command -v "$tool" >/dev/null; then echo "found: $tool at $(command -v "$tool")"; fi;'
    " done;"
    # apt's package lists and any cache of pip or uv.
    ' find /var/lib/apt/lists -type f | sed "s/^/found: /";'
    " for dir in /root/.cache /home/*/.cache /tmp/uv-cache /app/src/.venv; do"
    ' if [ -e "$dir" ]; then echo "found: $dir"; fi;'
    " done"
)


def test_final_images_hold_no_compiler_uv_apt_lists_or_caches(matrix):
    assert matrix.built()
    for image in matrix.built():
        result = docker_run(image.tag, "sh", "-c", FORBIDDEN_IN_FINAL_STAGE, user="0")
        assert result.returncode == 0, result.output
        assert "found:" not in result.stdout, f"{image.tag}:\n{result.output}"


def test_sqlite_images_have_sqlite_3_41_with_fts5_and_json(matrix):
    sq = [image for image in matrix.built() if image.variant.kind == "sq"]
    assert sq, "no sq image was built"
    for image in sq:
        # Checked while building (a failing RUN fails the build and is never cached), and
        # again here in the final image.
        assert "RUN python scripts/check_sqlite.py" in image.built.log, image.built.tail()
        result = docker_run(image.tag, "python", "scripts/check_sqlite.py")
        assert result.returncode == 0, result.output
        version = re.search(r"SQLite (\d+)\.(\d+)\.(\d+) with FTS5 and JSON", result.stdout)
        assert version, result.output
        assert tuple(map(int, version.groups())) >= (3, 41, 0), result.output


def test_litestream_images_run_litestream(matrix):
    with_litestream = [image for image in matrix.built() if image.variant.litestream]
    assert with_litestream, "no litestream image was built"
    for image in with_litestream:
        result = docker_run(image.tag, "litestream", "version")
        assert result.returncode == 0, result.output
        version = re.search(r"(\d+)\.(\d+)\.(\d+)", result.stdout)
        assert version and tuple(map(int, version.groups())) >= (0, 5, 0), result.output
    for image in matrix.built():
        if not image.variant.litestream:
            result = docker_run(image.tag, "sh", "-c", "command -v litestream || true")
            assert result.stdout.strip() == "", f"{image.tag} carries litestream unasked"


def test_images_hold_no_env_file_and_no_database_in_any_layer(matrix):
    """Every file of every layer (`docker save`), after decoy .env files and SQLite databases
    were planted in the build context (also in subfolders): none may be a .env file or a
    SQLite database, by name or by content, and no planted decoy may be there at all."""
    assert matrix.built()
    for image in matrix.built():
        assert all((image.context / rel).is_file() for rel in image.decoys)
        leaks, paths = [], set()
        for entry in layer_files(image.tag):
            paths.add(entry.path.removeprefix("./").rstrip("/"))
            name = entry.path.rsplit("/", 1)[-1]
            if name == ".env" or name.startswith(".env."):
                leaks.append(f"{entry.layer}: {entry.path} (env file)")
            elif re.search(r"\.(sqlite3?|db)(-wal|-shm|-journal)?$", name):
                leaks.append(f"{entry.layer}: {entry.path} (database by name)")
            elif entry.head == SQLITE_MAGIC:
                leaks.append(f"{entry.layer}: {entry.path} (SQLite database by content)")
        leaks += [f"app/src/{rel} (decoy)" for rel in image.decoys if f"app/src/{rel}" in paths]
        assert len(paths) > 1000, f"{image.tag}: only {len(paths)} files read from its layers"
        assert leaks == [], f"{image.tag}:\n" + "\n".join(leaks)
        # What the image needs is there; what only development needs is not.
        needed = ["manage.py", "pyproject.toml", "uv.lock", "scripts/web.sh", "scripts/run.sh"]
        if image.variant.litestream:
            needed.append("litestream.yml")
        missing = [rel for rel in needed if f"app/src/{rel}" not in paths]
        assert missing == [], f"{image.tag} lacks {missing}"
        assert not any(p.startswith("app/src/tests/") for p in paths), "tests/ in the image"


def test_images_run_the_python_version_asked_for(matrix):
    for image in matrix.built():
        result = docker_run(
            image.tag, "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"
        )
        assert result.stdout.strip() == image.variant.python_version, result.output


def test_images_have_a_healthcheck_and_start_run_sh(matrix):
    for image in matrix.built():
        config = image_config(image.tag)
        assert "scripts/healthcheck.py" in " ".join(config["Healthcheck"]["Test"]), config
        assert "RUN_CMD=run.sh" in config["Env"], config["Env"]
        assert config.get("Entrypoint") in (None, []), "Fly's process commands replace CMD"


def test_stop_while_waiting_for_the_database_exits_0_at_once(matrix):
    """The start scripts are process 1 until they exec the server, and process 1 ignores a
    SIGTERM it does not handle: `docker stop` while web.sh or worker.sh waits for an
    unreachable database must end the container at once with 0, not after a SIGKILL."""
    image = next(
        i
        for i in matrix.built()
        if i.variant.kind == "pg" and i.variant.python_version == DEFAULT_PYTHON
    )
    commands = [[]] + (
        [["scripts/worker.sh"]] if (image.context / "scripts/worker.sh").exists() else []
    )
    for command in commands:
        name = f"sdt-{TOKEN}-stop-{len(command)}"
        started = run(
            ["docker", "run", "--detach", "--name", name, "--network", "none",
             "--env", "SECRET_KEY=" + "k" * 60,
             "--env", "DATABASE_URL=postgres://app:secret@unreachable:5432/app",
             "--env", "REDIS_URL=redis://unreachable:6379/0",
             image.tag, *command],
        )  # fmt: skip
        try:
            assert started.returncode == 0, started.output
            wait_until(
                lambda n=name: "waiting for database" in run(["docker", "logs", n]).output,
                60,
                "the script to wait for the database",
            )
            start = time.monotonic()
            stopped = run(["docker", "stop", "--time", "20", name])
            seconds = time.monotonic() - start
            state = json.loads(run(["docker", "inspect", name]).stdout)[0]["State"]
            assert stopped.returncode == 0 and state["ExitCode"] == 0, (state, stopped.output)
            assert seconds < 10, f"took {seconds:.1f}s: the stop waited for the 20 s timeout"
            logs = run(["docker", "logs", name]).output
            assert "stopped while starting" in logs, logs[-2000:]
        finally:
            run(["docker", "rm", "--force", name])


def test_source_only_change_reuses_the_dependency_layer(matrix, tmp_path):
    """A change to the code alone must not reinstall dependencies: the `uv sync` step is
    taken from the build cache."""
    image = next(i for i in matrix.built() if i.variant.python_version == DEFAULT_PYTHON)
    context = tmp_path / "src"
    shutil.copytree(image.context, context, symlinks=True)
    (context / "config" / "urls.py").write_text(
        # Unique per run: the same edit twice would find its COPY layer in the build cache.
        (context / "config" / "urls.py").read_text() + f"\n# a source-only change {uuid.uuid4()}\n"
    )
    tag = f"{image.tag}-rebuilt"
    dockerfile = context.parent / "Dockerfile"
    dockerfile.write_text(image.variant.text)
    with timed(f"rebuild after a source-only change ({image.variant.name})"):
        rebuilt = build_image(tag, context, dockerfile)
    try:
        assert rebuilt.ok, rebuilt.tail(40)
        sync = re.search(r"^#(\d+) \[build [^\]]*\] RUN .*uv sync", rebuilt.log, re.MULTILINE)
        assert sync, rebuilt.tail(60)
        assert re.search(rf"^#{sync[1]} CACHED", rebuilt.log, re.MULTILINE), rebuilt.tail(60)
        copy = re.search(r"^#(\d+) \[stage-1 \d+/\d+\] COPY \. \.", rebuilt.log, re.MULTILINE)
        assert copy and not re.search(rf"^#{copy[1]} CACHED", rebuilt.log, re.MULTILINE)
    finally:
        remove_images(tag)


# --- compose stacks ------------------------------------------------------------------

REDIS = {"database": "both", "worker": "huey", "worker_broker": "redis", "litestream": True}
QUEUE_FILE = {"database": "both", "worker": "huey", "worker_broker": "sqlite", "litestream": True}
STACKS = {
    # id: (answers, project name, profile)
    "redis-pg": (REDIS, "Stack Redis", "pg"),
    "redis-sq": (REDIS, "Stack Redis", "sq"),
    # Web and worker share huey's queue file on a volume (pg-queue, or sq-data beside the db).
    "queue-file-pg": (QUEUE_FILE, "Stack Queue", "pg"),
    "queue-file-sq": (QUEUE_FILE, "Stack Queue", "sq"),
}


@pytest.fixture(scope="module")
def stack_projects(render, tmp_path_factory):
    """Project name -> prepared project; the images compose built are removed at the end."""
    prepared: dict[str, Path] = {}

    def get(answers: dict, name: str) -> Path:
        if name not in prepared:
            combo = one(secrets="dotenv", **answers)
            rendered = render({**combo.data, "project_name": f"{name} {TOKEN}"})
            prepared[name] = prepare(rendered, tmp_path_factory.mktemp("stack") / "project")
        return prepared[name]

    yield get
    for project in prepared.values():
        # compose.yaml names the images it builds <slug>-pg and <slug>-sq.
        slug = slug_of(project).replace("_", "-")
        remove_images(*(f"{slug}-{p}" for p in ("pg", "sq") if (project / "deploy" / p).is_dir()))


@pytest.fixture(scope="module", params=list(STACKS))
def stack(request, stack_projects) -> Stack:
    require_engine()
    answers, name, profile = STACKS[request.param]
    project = stack_projects(answers, name)
    stack = Stack(project, f"sdt-{TOKEN}-{request.param}", profile)
    request.addfinalizer(lambda: stack.down(volumes=True))
    with timed(f"stack {request.param}: up --build --wait"):
        stack.up(build=True)
    return stack


def test_stack_is_healthy_with_every_dependency_ok(stack):
    document = wait_until(lambda: healthy(stack.port), 60, "/health/ all ok")
    expected = {"database", "broker"}
    assert set(document["checks"]) == expected, document
    for service in (stack.web, stack.worker):
        assert stack.inspect(service)["State"]["Health"]["Status"] == "healthy", service


def test_processes_run_as_non_root(stack):
    for service in (stack.web, stack.worker):
        result = stack.exec(service, "id", "-u")
        assert result.returncode == 0, result.output
        assert result.stdout.strip() == APP_UID, result.output
        result = stack.exec(service, "python", "-c", PROCESS_UIDS)
        assert result.returncode == 0, result.output
        processes = json.loads(result.stdout)
        assert processes, result.output
        root = {pid: name for pid, (name, uid) in processes.items() if uid == "0"}
        assert root == {}, f"{service} runs processes as root: {root}"


def test_task_enqueued_by_web_is_completed_by_the_worker(stack):
    title = f"{stack.name} queued entry"
    post_entry(stack.port, title, "counted by the worker")
    count = wait_until(lambda: words(stack.port, title), 90, f"{title!r} processed")
    assert count == len(f"{title} counted by the worker".split())
    # The web container only enqueues (HUEY immediate is off); the worker ran the task.
    worker_log = stack.logs(stack.worker)
    assert re.search(r"Executing \S+\.process_entry", worker_log), worker_log[-3000:]
    assert not re.search(r"Executing \S+\.process_entry", stack.logs(stack.web))


def test_entries_survive_down_and_up(stack):
    title = f"{stack.name} kept entry"
    post_entry(stack.port, title, "survives a restart")
    expected = wait_until(lambda: words(stack.port, title), 90, f"{title!r} processed")
    with timed(f"stack {stack.name}: down, then up --wait"):
        result = stack.down()
        assert result.returncode == 0, result.output
        stack.up()
    wait_until(lambda: healthy(stack.port), 60, "/health/ all ok after up")
    assert words(stack.port, title) == expected, "the entry (or its word count) was lost"


def test_stop_ends_web_and_worker_cleanly(stack):
    """Last on purpose: `docker compose stop` must end web and worker by their own
    graceful shutdown (exit 0) within stop_grace_period, not by SIGKILL (137)."""
    with timed(f"stack {stack.name}: compose stop"):
        result = stack.compose("stop", timeout=180)
    assert result.returncode == 0, result.output
    for service in (stack.web, stack.worker):
        state = stack.inspect(service)["State"]
        assert state["Status"] == "exited", (service, state)
        assert state["ExitCode"] == 0 and not state["OOMKilled"], (
            f"{service}: {state}\n{stack.logs(service)[-3000:]}"
        )
