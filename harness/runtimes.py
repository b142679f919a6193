"""The distinct runtimes of the generated projects, derived from the renders of every
combination (harness/combinations.py), keyed by the bytes that decide how they run.

* `images()`: each distinct image: its Dockerfile and the whole build context (src/), names,
  bytes and executable bits. The Python version is part of both.
* `stack_classes()`: each distinct `docker compose --profile P up`: its image, compose.yaml,
  the profile, and .env (variable names and values, secret values masked: `just env` and
  `op inject` fill those with fresh values each time).
* `fly_apps()`: each distinct Fly.io app: fly.toml, and the image it builds.

Combinations that land in one class run the same bytes the same way, so one of them (the
closest to the defaults that `just env` can give a .env) stands for all: the container tests
start each class once, and a run's proof line counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from harness.combinations import Combination, all_combinations, questions
from harness.renders import digest, render_all, tree_digest

ENV_TEMPLATES = (".env.example", ".env.op")
OP_REFERENCE = re.compile(r'^"?op://')


@dataclass
class Image:
    key: str
    dockerfile: str  # deploy/pg/Dockerfile or deploy/sq/Dockerfile
    python_version: str
    combos: list[Combination] = field(default_factory=list)

    @property
    def profile(self) -> str:
        return Path(self.dockerfile).parent.name

    @property
    def id(self) -> str:
        return f"{self.profile}-py{self.python_version}-{self.key[:6]}"


@dataclass
class _Class:
    """Combinations that run the same bytes the same way."""

    key: str
    image: Image
    combos: list[Combination] = field(default_factory=list)

    @property
    def representative(self) -> Combination:
        return representative(self.combos)

    def _id(self, *middle: str) -> str:
        """Readable and unique, e.g. py3.13-pg-both-huey_redis-litestream."""
        c = self.representative
        worker = f"huey_{c.get('worker_broker')}" if c.use_huey else "no_worker"
        litestream = ["litestream"] if c.use_litestream else []
        return "-".join([f"py{c.get('python_version')}", *middle, c.get("database"), worker,
                         *litestream])  # fmt: skip


@dataclass
class StackClass(_Class):
    profile: str = ""

    @property
    def id(self) -> str:
        return self._id(self.profile)


@dataclass
class FlyApp(_Class):
    @property
    def id(self) -> str:
        return self._id()


def representative(combos: list[Combination]) -> Combination:
    """The member closest to the defaults among those `just env` can give a .env."""
    defaults = {name: spec.get("default") for name, spec in questions().items()}
    dotenv = [c for c in combos if c.get("secrets") == "dotenv"]
    assert dotenv, f"no member with secrets=dotenv among {[c.id for c in combos]}"
    return max(dotenv, key=lambda c: sum(c.get(k) == defaults[k] for k in c.data))


def python_of(dockerfile_text: str) -> str:
    tags = set(re.findall(r"^FROM python:(\d+\.\d+)-", dockerfile_text, re.MULTILINE))
    assert len(tags) == 1, f"expected one Python base image, found {tags}"
    return tags.pop()


def env_entries(project: Path) -> list[tuple[str, str]]:
    """The variables of the project's .env template, in order, as (name, value)."""
    template = next(project / name for name in ENV_TEMPLATES if (project / name).exists())
    entries = []
    for line in template.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            entries.append((name.strip(), value.strip()))
    return entries


@cache
def renders(combos: tuple[Combination, ...] | None = None) -> dict[Combination, Path]:
    """The renders of these combinations (every one by default)."""
    combos = combos or tuple(all_combinations())
    return dict(zip(combos, render_all(c.render_data for c in combos), strict=True))


@cache
def secret_names(combos: tuple[Combination, ...] | None = None) -> frozenset[str]:
    """Variables whose value is a secret: those the 1Password template takes from a vault."""
    names = set()
    for project in renders(combos).values():
        if (project / ".env.op").exists():
            names |= {n for n, v in env_entries(project) if OP_REFERENCE.match(v)}
    assert names, "no combination among these renders .env.op: no secret names to mask"
    return frozenset(names)


def env_key(project: Path, combos: tuple[Combination, ...] | None = None) -> str:
    masked = [(n, "<secret>" if n in secret_names(combos) else v) for n, v in env_entries(project)]
    return digest(repr(masked))


@cache
def derive(
    combos: tuple[Combination, ...] | None = None,
) -> tuple[list[Image], list[StackClass], list[FlyApp]]:
    """The distinct images, stack classes and Fly apps of these combinations (of every one
    by default)."""
    images: dict[str, Image] = {}
    classes: dict[str, StackClass] = {}
    apps: dict[str, FlyApp] = {}
    for combo, project in renders(combos).items():
        context = tree_digest(project / "src")
        compose = (project / "compose.yaml").read_bytes()
        for dockerfile in sorted(project.glob("deploy/*/Dockerfile")):
            rel = dockerfile.relative_to(project).as_posix()
            text = dockerfile.read_text()
            key = digest(rel, text, context)
            image = images.setdefault(key, Image(key, rel, python_of(text)))
            image.combos.append(combo)
            profile = image.profile
            class_key = digest(key, compose, profile, env_key(project, combos))
            stack = classes.setdefault(class_key, StackClass(class_key, image, profile=profile))
            stack.combos.append(combo)
        fly_toml = project / "fly.toml"
        if fly_toml.exists():
            built = re.search(r'^\s*dockerfile = "([^"]+)"', fly_toml.read_text(), re.MULTILINE)
            text = (project / built[1]).read_text()
            image = images[digest(built[1], text, context)]
            app_key = digest(image.key, fly_toml.read_bytes())
            apps.setdefault(app_key, FlyApp(app_key, image)).combos.append(combo)
    order = lambda item: item.id
    return (
        sorted(images.values(), key=order),
        sorted(classes.values(), key=order),
        sorted(apps.values(), key=order),
    )


def images() -> list[Image]:
    return derive()[0]


def stack_classes() -> list[StackClass]:
    return derive()[1]


def fly_apps() -> list[FlyApp]:
    return derive()[2]


@dataclass(frozen=True)
class DataRuntime:
    """Where a project keeps its data and its queue, as far as an update can break them: the
    compose profile (or Fly, which runs the default profile's image), the broker, litestream.
    `combo` is the combination closest to the defaults that runs this way."""

    place: str  # "pg" or "sq" (compose profiles), or "fly-pg" / "fly-sq"
    broker: str  # "redis", "sqlite" or "none"
    litestream: bool
    combo: Combination

    @property
    def id(self) -> str:
        return "-".join(
            [self.place, f"broker_{self.broker}", *(["litestream"] if self.litestream else [])]
        )

    @property
    def profile(self) -> str:
        return self.place.removeprefix("fly-")


def data_runtimes(fly: bool = False) -> list[DataRuntime]:
    """Each distinct database x broker x litestream of the compose profiles; with `fly`, also
    the Fly app of each database (PostgreSQL: the release command migrates; SQLite: web.sh
    migrates the volume's database, litestream replicating it)."""
    keys = set()
    for combo in all_combinations():
        broker = combo.get("worker_broker") if combo.use_huey else "none"
        for profile in combo.profiles:
            keys.add((profile, broker, combo.use_litestream and profile == "sq"))
    found = []
    for profile, broker, litestream in sorted(keys):
        found.append(
            DataRuntime(profile, broker, litestream, _closest(profile, broker, litestream))
        )
    if fly:
        found.append(
            DataRuntime("fly-pg", "redis", False, _closest("pg", "redis", False, fly=True))
        )
        found.append(
            DataRuntime("fly-sq", "sqlite", True, _closest("sq", "sqlite", True, fly=True))
        )
    return found


def _closest(profile: str, broker: str, litestream: bool, fly: bool | None = None) -> Combination:
    from harness.combinations import one

    wanted: dict = {"database": "postgres" if profile == "pg" else "sqlite", "secrets": "dotenv"}
    wanted["worker"] = "none" if broker == "none" else "huey"
    if broker != "none":
        wanted["worker_broker"] = broker
    if profile == "sq":
        wanted["litestream"] = litestream
    if fly is not None:
        wanted["fly"] = fly
    return one(**wanted)
