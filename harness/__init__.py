"""The template's test harness: what the tests, the manual's build hook (docs/hooks.py) and
scripts/benchmark share. One job per module:

- `commands`: run a command, the dev tools, git, ports, waiting on a condition, `require`.
- `combinations`: every combination of answers, from copier.yml; `spread`, the quick subset.
- `fastcopier`: copier with its per-file `git config` call made once per render.
- `renders`: copier renders, cached on disk and shared by every process of a run.
- `runtimes`: the distinct images, stack classes and Fly apps the renders make.
- `docker`: the one runner of `docker` commands, and `inspect`.
- `standins`: honest local stand-ins for base images no registry delivers here.
- `baseimages`: the base images a Dockerfile or a compose file needs, real or stand-in.
- `engine`: the Docker engine, the images the suite builds, their layers, `forget`.
- `http`: HTTP to a published port on 127.0.0.1: requests, forms, `Load`.
- `stacks`: a generated project prepared (lock, .env) and run with docker compose.
- `swarm`: a generated project's stack.yaml on this machine's swarm.
- `services`: throwaway PostgreSQL and Redis servers on the host.
- `s3`: a real S3 server (SeaweedFS), on the host or as a service on a Docker network.
- `template_repo`: this template as a git repository with tagged releases.
- `expected`: which files each combination must (and must not) have.
- `snippets`: the manual's pages and the shell commands they show.
- `checks`: results of deterministic checks, shared by a run's workers.
- `levels`: the proof levels: their members and the tests each member needs.
- `proof`, `pytest_plugin`: what a run proved; the pytest hooks that feed it; shards.
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
