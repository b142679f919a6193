"""Benchmark the template and the generated project's containers (not a test): prints the
tables and writes them, with the date, the machine and the engine, to docs/benchmark.md.
Every speed is measured beside its floor, in the same run, and shown as a ratio:

  * render: `copier copy --defaults` of this template against a one-file template, and
    against this template's questionnaire with one file (what the questions alone cost),
    all from local git repositories (median of --renders runs each; target: 1.2x or less);
  * for each compose profile (pg, sq) of one rendered project (database=both, huey on
    redis, litestream on):
      - final image size against its base image's size;
      - cold build (`docker build --no-cache`; BuildKit's uv download cache mount stays warm,
        as on a developer's machine after the first build) and the rebuild after a
        source-only change;
      - `docker compose up --wait` until every service is healthy: first with empty volumes,
        then again after `down` with the volumes kept (targets: 15 s and 10 s);
      - memory of the whole stack at rest (target for pg: under 300 MB);
      - requests per second on /health/ and on the list page `/` (20 entries), against a
        bare WSGI app served by the same image with the same gunicorn settings (targets: 0.6
        and 0.4 of it). Load: REQUESTS GETs from CONCURRENCY threads on this machine, to
        127.0.0.1 only, stopped after --max-seconds whatever happened.

  * Docker Swarm (the same project's stack.yaml, PostgreSQL and Redis, on this machine's
    single-node swarm): deploy until 3 web and 2 worker replicas are healthy; a rolling update
    of web under load (requests sent, failed, p95 latency while it rolls); a web task killed
    under load (time until its replacement is healthy, requests failed); the entries made
    before, all still there and processed afterwards. Load: 4 threads, 127.0.0.1 only.

    scripts/benchmark [--requests 2000] [--concurrency 8] [--max-seconds 60] [--renders 5]
                      [--profiles pg,sq] [--parts render,containers,swarm] [--no-write]

With some --parts only, docs/benchmark.md keeps the sections of the others.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, engine, images, projects, renders, stacks, swarm, swarm_scenarios
from harness.baseimages import base_images, ensure_image
from harness.commands import free_port, git, run, tool, wait_until
from harness.http import (
    Load,
    download,
    get,
    health,
    healthy,
    post_attachment,
    post_entry,
    words,
    writer,
)
from harness.s3service import S3_PORT
from harness.template_repo import TemplateRepo

ANSWERS = {
    "project_name": "Benchmark",
    "database": "both",
    "worker": "huey",
    "worker_broker": "redis",
    "litestream": True,
    "secrets": "dotenv",
}


def say(message: str) -> None:
    print(f"benchmark: {message}", file=sys.stderr, flush=True)


def render(tmp: Path) -> Path:
    """The template as it is in this working tree, rendered and prepared (uv lock, .env)."""
    return projects.prepare(renders.render(ANSWERS), tmp / "project")


def load(port: int, path: str, requests: int, concurrency: int, max_seconds: float) -> dict:
    """A fixed number of GETs from `concurrency` threads back to back, bounded in time; one
    connection per request (gunicorn's sync workers close it after each response)."""
    return Load(port, threads=concurrency, pause=0, limit=requests, max_seconds=max_seconds,
                path=path).run()  # fmt: skip


def mb(size: float) -> str:
    return f"{size / 1e6:.0f} MB"


# --- render: this template against copier's own floor -----------------------------------


def one_file_template(path: Path) -> Path:
    """The smallest template copier renders: one question, one file, one tagged commit."""
    path.mkdir()
    (path / "copier.yml").write_text("name:\n  type: str\n  default: floor\n")
    (path / "README.md.jinja").write_text("# {{ name }}\n")
    git(path, "init", "--quiet")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", "floor")
    git(path, "tag", "v1.0.0")
    return path


def questions_only_template(path: Path) -> Path:
    """This template's questionnaire (copier.yml, questions/) with one file: what the
    questions alone cost, apart from the files."""
    repo = TemplateRepo(path)
    shutil.rmtree(repo.path / "template")
    answers = ROOT / "template" / "{{ _copier_conf.answers_file }}.jinja"
    repo.write(f"template/{answers.name}", answers.read_text())
    repo.write("template/README.md.jinja", "# {{ project_name }}\n")
    repo.release("v1.0.1")
    return repo.path


def bench_render(tmp: Path, runs: int) -> dict:
    """Median seconds of `copier copy --defaults` from each local git repository,
    interleaved so that a busy moment of the machine falls on all of them."""
    sources = {
        "floor": one_file_template(tmp / "floor-template"),
        "questions": questions_only_template(tmp / "questions-only"),
        "template": TemplateRepo(tmp / "start-django").path,
    }
    times: dict[str, list[float]] = {name: [] for name in sources}
    for n in range(runs):
        for name, source in sources.items():
            start = time.monotonic()
            result = run([tool("copier"), "copy", "--quiet", "--defaults", "--trust",
                          str(source), str(tmp / f"{name}-{n}")])  # fmt: skip
            times[name].append(time.monotonic() - start)
            if result.returncode != 0:
                raise SystemExit(f"benchmark: copier copy of {name} failed:\n{result.output}")
    medians = {name: statistics.median(seconds) for name, seconds in times.items()}
    return {**medians, "ratio": medians["template"] / medians["floor"]}


# --- containers ------------------------------------------------------------------------

# The floor for the request rates: a WSGI app that does nothing, in the same image, under
# the same gunicorn settings (config/gunicorn.py), answering what /health/ answers.
BARE_WSGI = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "ok"}']
"""


def build(image: str, dockerfile: Path, context: Path, *flags: str) -> float:
    start = time.monotonic()
    built = subprocess.run(
        ["docker", "build", *flags, "--quiet", "-t", image, "-f", str(dockerfile), str(context)],
        capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        raise SystemExit(f"benchmark: build failed:\n{built.stderr[-3000:]}")
    return time.monotonic() - start


def memory_at_rest(stack: stacks.Stack) -> float:
    """Bytes of memory the stack's containers use, summed, a few seconds after healthy."""
    time.sleep(5)
    ids = stack.compose("ps", "--quiet").stdout.split()
    result = run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", *ids])
    units = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
    total = 0.0
    for line in result.stdout.splitlines():
        used = line.split("/")[0].strip()
        number = used.rstrip("KMGiB")
        total += float(number) * units[used[len(number) :]]
    return total


def bare_wsgi_load(image: str, tmp: Path, args) -> dict:
    """The floor: the bare app in the stack's image, under its gunicorn settings."""
    app = tmp / "bare_wsgi.py"
    app.write_text(BARE_WSGI)
    port = free_port()
    name = stacks.suite_name("bench-bare")
    started = run(["docker", "run", "--detach", "--rm", "--name", name,
                   "--publish", f"127.0.0.1:{port}:8080", "--env", "PORT=8080",
                   "--volume", f"{app}:/app/src/bare_wsgi.py:ro", image,
                   "gunicorn", "--config", "config/gunicorn.py", "bare_wsgi:app"])  # fmt: skip
    if started.returncode != 0:
        raise SystemExit(f"benchmark: the bare WSGI app did not start:\n{started.output}")
    try:
        wait_until(lambda: health(port)[0] == 200, 60, "the bare WSGI app")
        return load(port, "/health/", args.requests, args.concurrency, args.max_seconds)
    finally:
        run(["docker", "rm", "--force", name])


def bench_profile(project: Path, profile: str, tmp: Path, args) -> dict:
    stack = stacks.Stack(project, stacks.suite_name("bench"), profile)
    image = stack.image  # what compose.yaml names the image for this compose project
    dockerfile = project / "deploy" / profile / "Dockerfile"
    try:
        stack.ensure_images()
    except AssertionError as exc:
        raise SystemExit(f"benchmark: {exc}") from None
    base = base_images(dockerfile)[-1]
    base_source = ensure_image(base)

    say(f"{profile}: cold build (--no-cache)")
    cold = build(image, dockerfile, project / "src", "--no-cache")
    cold_image = images.image_id(image)  # replaced by the rebuild: removed at the end
    say(f"{profile}: rebuild after a source-only change")
    urls = project / "src" / "config" / "urls.py"
    urls.write_text(urls.read_text() + f"\n# benchmark change {time.time()}\n")
    rebuild = build(image, dockerfile, project / "src")
    size = images.image_size(image)

    try:
        say(f"{profile}: docker compose up --wait (empty volumes, then volumes kept)")
        start = time.monotonic()
        stack.up()  # the image just built; no --build
        first_up = time.monotonic() - start
        stack.down()
        start = time.monotonic()
        stack.up()
        up = time.monotonic() - start
        memory = memory_at_rest(stack)
        wait_until(lambda: healthy(stack.port), 60, "/health/ all ok")
        session = writer(stack.port, stack.manage)
        for n in range(20):  # a list page with content
            post_entry(stack.port, f"benchmark entry {n}", "some words to count " * 5, session)
        say(f"{profile}: load on /health/, / and the bare WSGI app "
            f"({args.requests} requests each, {args.concurrency} threads)")  # fmt: skip
        health = load(stack.port, "/health/", args.requests, args.concurrency, args.max_seconds)
        page = load(stack.port, "/", args.requests, args.concurrency, args.max_seconds)
        bare = bare_wsgi_load(image, tmp, args)
    finally:
        stack.down(volumes=True)
        images.remove_images(image, *([cold_image] if cold_image else []))
    return {
        "profile": profile,
        "base": f"{base}{' (stand-in)' if base_source.source == 'stand-in' else ''}",
        "base_size": images.image_size(base),
        "size": size,
        "cold": cold,
        "rebuild": rebuild,
        "first_up": first_up,
        "up": up,
        "memory": memory,
        "health": health,
        "page": page,
        "bare": bare,
    }


def bench_swarm(project: Path) -> dict:
    swarm.ensure_swarm()
    stack = swarm.SwarmStack(project, stacks.suite_name("bench-swarm"), bucket=True)
    try:
        say("swarm: stack-build, stack-deploy")
        start = time.monotonic()
        stack.build("v1")
        stack.deploy("v1")
        wait_until(lambda: stack.ready("web", 3) and stack.ready("worker", 2), 300, "replicas")
        deployed = time.monotonic() - start
        titles = [f"benchmark entry {n}" for n in range(20)]
        session = writer(stack.port, stack.manage)
        for title in titles:
            post_entry(stack.port, title, "three more words", session)
        stack.s3()  # the bucket
        files = {f"upload-{n}.txt": os.urandom(20000) for n in range(5)}
        for name, content in files.items():
            post_attachment(stack.port, f"with {name}", name, content, session)
        say("swarm: rolling update under load")
        update = swarm_scenarios.rolling_update(stack, "v2")
        say("swarm: a web task killed under load")
        kill = swarm_scenarios.kill_web_task(stack)
        intact = sum(1 for t in titles if words(stack.port, t) == 6)
        _, _, page = get(stack.port, "/", session=session)
        links = dict(re.findall(r'<a class="attachment" href="([^"]+)">([^<]+)<', page))
        bucket = {f"s3:{S3_PORT}": stack.s3_port}
        media = sum(
            1
            for link, name in links.items()
            if any(download(stack.port, link, session, resolve=bucket) == (200, content)
                   for label, content in files.items() if name.startswith(label[:-4]))
        )  # fmt: skip
        return {"deployed": deployed, "update": update, "kill": kill,
                "rows": (intact, len(titles)), "media": (media, len(files))}  # fmt: skip
    finally:
        stack.remove()


def swarm_table(r: dict) -> str:
    u, k = r["update"], r["kill"]
    return (
        "| deploy to healthy (3 web, 2 worker) | rolling update of web | requests sent "
        "| failed (target 0) | p95 during the update | killed web task replaced in "
        "| requests sent | failed (target: at most the 4 in flight) | entries intact "
        "| media files intact |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {r['deployed']:.1f} s | {u['seconds']:.1f} s | {u['sent']} "
        f"| {u['failed']}{mark(u['failed'] == 0)} | {u['p95_ms']:.0f} ms "
        f"| {k['replaced_seconds']:.1f} s | {k['sent']} | {k['failed']}{mark(k['failed'] <= 4)} "
        f"| {r['rows'][0]}/{r['rows'][1]}{mark(r['rows'][0] == r['rows'][1])} "
        f"| {r['media'][0]}/{r['media'][1]}{mark(r['media'][0] == r['media'][1])} |\n"
    )


SWARM_TEXT = (
    "The project above (its stack.yaml runs the pg image) on this machine's single-node "
    "swarm, through its own recipes: `just stack-build`, `just stack-deploy`. Caddy in front "
    "of 3 web replicas, 2 workers, PostgreSQL and Redis. The update builds the same source "
    "under a new tag and deploys it while 4 threads send GET / back to back; web rolls one "
    "task at a time, the new one healthy before the old one stops. The kill is SIGKILL to "
    "one web container under the same load; the time runs until a new task is healthy. The "
    "20 entries and 5 uploads (in an S3 bucket, SeaweedFS, as the project's README configures "
    "it) were made before both; afterwards every entry must be listed and processed, and "
    "every file served back byte for byte.\n\n"
)


def machine() -> dict[str, str]:
    memory = "unknown"
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    facts = engine.engine_facts()
    return {
        "cpus": str(os.cpu_count()),
        "memory": memory,
        "kernel": platform.release(),
        "engine": f"Docker {facts['engine']}, compose {facts['compose']}",
    }


def mark(ok: bool) -> str:
    return "" if ok else " (misses)"


def render_table(r: dict) -> str:
    return (
        "| `copier copy --defaults` | one-file template (floor) | this questionnaire, one file "
        "| this template | ratio (target 1.2 or less) |\n"
        "|---|---|---|---|---|\n"
        f"| median | {r['floor']:.2f} s | {r['questions']:.2f} s | {r['template']:.2f} s "
        f"| {r['ratio']:.2f}{mark(r['ratio'] <= 1.2)} |\n"
    )


def container_table(rows: list[dict]) -> str:
    lines = [
        (
            "| profile | base image | base size | final size | cold build | rebuild (source "
            "change) | first up, empty volumes (target 15 s) | up, volumes kept (target 10 s) "
            "| memory at rest | bare WSGI req/s (floor) | /health/ req/s (ratio, target 0.6) "
            "| / req/s (ratio, target 0.4) | p95 /health/, / | errors |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        h, p, b = r["health"], r["page"], r["bare"]
        health_ratio, page_ratio = h["rps"] / b["rps"], p["rps"] / b["rps"]
        memory_target = r["memory"] < 300e6 if r["profile"] == "pg" else True
        lines.append(
            f"| {r['profile']} | {r['base']} | {mb(r['base_size'])} | {mb(r['size'])} "
            f"| {r['cold']:.1f} s | {r['rebuild']:.1f} s "
            f"| {r['first_up']:.1f} s{mark(r['first_up'] < 15)} | {r['up']:.1f} s{mark(r['up'] < 10)} "
            f"| {mb(r['memory'])}{mark(memory_target)} | {b['rps']:.0f} "
            f"| {h['rps']:.0f} ({health_ratio:.2f}{mark(health_ratio >= 0.6)}) "
            f"| {p['rps']:.0f} ({page_ratio:.2f}{mark(page_ratio >= 0.4)}) "
            f"| {h['p95_ms']:.0f} ms, {p['p95_ms']:.0f} ms | {h['failed'] + p['failed'] + b['failed']} |"
        )
    return "\n".join(lines) + "\n"


def sections_of(text: str) -> dict[str, str]:
    """A written page's `## ` sections, by title, each with its heading."""
    parts = text.split("\n## ")[1:]
    return {part.split("\n", 1)[0]: "## " + part.rstrip("\n") + "\n" for part in parts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--renders", type=int, default=5)
    parser.add_argument("--profiles", default="pg,sq")
    parser.add_argument("--parts", default="render,containers,swarm")
    parser.add_argument("--no-write", action="store_true", help="print only; no docs/benchmark.md")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if reason := engine.engine_available():
        print(f"benchmark: no Docker engine: {reason}", file=sys.stderr)
        return 1

    doc = ROOT / "docs" / "benchmark.md"
    sections = sections_of(doc.read_text()) if doc.exists() else {}
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    stamp = f"*Measured {when}.*\n\n"
    with tempfile.TemporaryDirectory(prefix="start-django-benchmark-") as tmp:
        if "render" in parts:
            say(f"render: copier copy --defaults, {args.renders} times each")
            rendered = bench_render(Path(tmp), args.renders)
            print(render_table(rendered))
            sections["Rendering"] = (
                "## Rendering\n\n"
                + stamp
                + f"Median of {args.renders} runs of `copier copy --defaults` each, from local git "
                "repositories, interleaved. The middle column is this template's copier.yml and "
                "questions/ with a single file: what the questions cost. What remains between "
                "it and the template is copier's work per file (each part of each path compiled "
                "as a Jinja template, each file rendered, one `git config` call per file in "
                "copier 9.19), which grows with the number of files, not with the questions.\n\n"
                + render_table(rendered)
            )
        project = render(Path(tmp))
        if "containers" in parts:
            rows = [bench_profile(project, p, Path(tmp), args) for p in args.profiles.split(",")]
            print(container_table(rows))
            sections["Containers"] = (
                "## Containers\n\n"
                + stamp
                + f"Project: {', '.join(f'{k}={v}' for k, v in ANSWERS.items())}; gunicorn from "
                "`config/gunicorn.py` (2 workers). Load: "
                f"{args.requests} GET requests per path from {args.concurrency} threads on the "
                f"same machine to 127.0.0.1 (at most {args.max_seconds:.0f} s each), a new "
                "connection per request; the list page shows 20 entries. The floor is a bare "
                'WSGI app (it answers `{"status": "ok"}`) run by the same image under the same '
                "gunicorn settings.\n\n"
                + container_table(rows)
                + "\nCold build: `docker build --no-cache` (every layer rebuilt; BuildKit's uv "
                "download cache mount stays warm). Rebuild: the same build after one Python file "
                "changed. Up: `docker compose up --wait` with the images built, until every "
                "service's healthcheck passes (they probe every second while starting). Memory: "
                "`docker stats` of every container of the stack, summed, at rest. A base marked "
                "stand-in is a locally built replacement for the official image (no registry "
                "here): sizes compare with it, not with the official image.\n"
            )
        if "swarm" in parts:
            result = bench_swarm(project)
            print(swarm_table(result))
            sections["Docker Swarm"] = (
                "## Docker Swarm\n\n" + stamp + SWARM_TEXT + swarm_table(result)
            )

    if not args.no_write:
        facts = machine()
        order = ["Rendering", "Containers", "Docker Swarm"]
        body = "\n".join(sections[title] for title in order if title in sections)
        doc.write_text(
            "# Benchmark\n\n"
            f"By `scripts/benchmark` on {facts['cpus']} CPUs, {facts['memory']} memory, Linux "
            f"{facts['kernel']}, {facts['engine']}; each section says when it was measured "
            "(`--parts` measures some and keeps the others). Each speed is measured beside "
            "its floor in the same run; a value marked *misses* is outside its target.\n\n" + body
        )
        say(f"wrote {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
