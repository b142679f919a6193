"""The template's test harness: what the tests, the manual's build hook (docs/hooks.py) and
scripts/benchmark share. One job per module:

- `commands`: run a command, the dev tools, git, ports, waiting on a condition, `require`.
- `combinations`: every combination of answers, from copier.yml; `spread`, the quick subset.
- `fastcopier`: copier without the work it repeats per file and per render (same bytes).
- `renders`: copier renders, cached on disk and shared by every process of a run.
- `runtimes`: the distinct images, stack classes and Fly apps the renders make.
- `docker`: the one runner of `docker` commands, and `inspect`.
- `standins`: honest local stand-ins for base images no registry delivers here.
- `rootfs`: the debootstrapped Debian rootfs the python stand-ins start from.
- `baseimages`: the base images a Dockerfile or a compose file needs, real or stand-in.
- `engine`: the Docker engine, its versions, `forget`.
- `images`: the images the suite builds from the generated projects, and their layers.
- `http`: HTTP to a published port on 127.0.0.1: requests, forms, `Load`.
- `projects`: a render prepared to run (its lock, its .env), and the decoys no image may hold.
- `stacks`: a prepared project run with docker compose.
- `swarm`: a generated project's stack.yaml on this machine's swarm.
- `swarm_scenarios`: the rolling update and the killed task, measured under load.
- `services`: throwaway PostgreSQL and Redis servers on the host.
- `s3`: a real S3 server (SeaweedFS) on the host.
- `s3service`: the same server as a stack's service, and the app's settings for its bucket.
- `template_repo`: this template as a git repository with tagged releases.
- `upgrades`: projects made by a release, and their update as a team's workflow runs it.
- `fly`: a generated project's Fly app, run on this engine the way Fly runs it.
- `expected`: which files each combination must (and must not) have.
- `snippets`: the manual's pages and the shell commands they show.
- `checks`: results of deterministic checks, shared by a run's workers.
- `levels`: the proof levels: their members and the tests each member needs.
- `proof`, `pytest_plugin`: what a run proved; the pytest hooks that feed it.
- `shards`: a shard's ledger on disk, and the shards merged into one proof line.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the suite keeps between runs: stand-in rootfs tarballs, renders, locks, logs.
CACHE = Path(
    os.environ.get("START_DJANGO_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "start-django"
)
# Everything the suite names on the engine (compose projects, containers, volumes, networks,
# swarm stacks, secrets, test images) starts with this; `engine.forget` finds it by it.
SUITE_PREFIX = "sdt-"
# Labels of the stand-in images (harness/standins.py, harness/rootfs.py): what each is, the
# digest of its recipe, and the python it holds; `engine.forget` finds stand-ins by the first.
STANDIN_LABEL = "org.start-django.standin"
RECIPE_LABEL = "org.start-django.standin.recipe"
PYTHON_VERSION_LABEL = "org.start-django.standin.python-version"
