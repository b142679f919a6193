"""The template's test harness: what the tests, the manual's build hook (docs/hooks.py) and
scripts/benchmark share.

- `commands`: run a command, the dev tools, git, free ports, wait on a condition.
- `combinations`: every combination of answers, from copier.yml.
- `renders`: copier renders, cached on disk and shared by every process of a run.
- `runtimes`: the distinct images, stack classes and Fly apps the renders make.
- `engine`: the Docker engine and the base images (real, or honest stand-ins).
- `stacks`: a generated project prepared and run with docker compose, and HTTP to it.
- `services`: throwaway PostgreSQL and Redis servers on the host.
- `template_repo`: this template as a git repository with tagged releases.
- `expected`: which files each combination must (and must not) have.
- `snippets`: the manual's pages and the shell commands they show.
- `checks`: results of deterministic checks, shared by a run's workers.
- `proof`, `pytest_plugin`: what a run proved; the pytest hooks and fixtures that feed it.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
