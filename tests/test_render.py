"""Every combination from copier.yml renders into a complete, clean project.

Checks whose input is identical across combinations (a Dockerfile, a compose file with its
.env, the Django code with its dependency set) run once per distinct content in the whole
run: a deterministic tool gives the same verdict on the same bytes.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import tomllib
from functools import cache
from pathlib import Path

import jinja2
import pytest
import yaml

from harness import ROOT
from harness.combinations import PINNED_TEXT, Combination, one, questions
from harness.commands import run, tool, uv_env
from harness.expected import expected_files
from harness.levels import members
from harness.renders import answers_of, digest, tree_digest

COMBINATIONS = members("rendered")
IDS = [c.id for c in COMBINATIONS]
HOST_PYTHON = "3.13"
TEMPLATE = ROOT / "template"

# What Jinja leaves behind when a template is not rendered, or only partly: a statement or a
# comment anywhere, and an expression anywhere but in GitHub's `${{ ... }}`.
LEFTOVER_STATEMENT = re.compile(r"\{%-?\s*\w+|\{#")
LEFTOVER_EXPRESSION = re.compile(r"(?<!\$)\{\{")
# Output languages that use `{{ ... }}` themselves (just's interpolation); a leftover Jinja
# variable there is still caught, by `just --list`, which refuses an unknown name.
OWN_EXPRESSIONS = {"justfile"}


def files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts)


@pytest.fixture(params=COMBINATIONS, ids=IDS)
def combo(request) -> Combination:
    return request.param


@pytest.fixture
def project(render, combo) -> Path:
    return render(combo)


@cache
def template_sources() -> list[str]:
    return sorted(p.relative_to(TEMPLATE).as_posix() for p in TEMPLATE.rglob("*") if p.is_file())


def rendered_from_jinja(project: Path, combo: Combination) -> dict[str, str]:
    """Output path -> its template file, for the outputs copier rendered with Jinja (the
    `.jinja` files): the others are copied byte for byte, and their `{{ }}` and `{% %}`
    belong to their own language (Django templates, GitHub workflows)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    context = {**combo.derived, **answers, "_copier_conf": {"answers_file": ".copier-answers.yml"}}
    env = jinja2.Environment()
    outputs = {}
    for source in template_sources():
        if source.endswith(".jinja"):
            parts = [env.from_string(part).render(**context) for part in source.split("/")]
            if all(parts):  # a part rendered empty: the file is not in this combination
                outputs["/".join(parts).removesuffix(".jinja")] = source
    return outputs


def leftover_jinja(rel: str, text: str) -> str | None:
    """The first piece of Jinja syntax left in an output rendered from a .jinja template."""
    match = LEFTOVER_STATEMENT.search(text)
    if match is None and Path(rel).name not in OWN_EXPRESSIONS:
        match = LEFTOVER_EXPRESSION.search(text)
    return match and text[match.start() : match.start() + 40]


@pytest.mark.proof("rendered")
def test_no_template_syntax_is_left(project, combo):
    outputs = rendered_from_jinja(project, combo)
    assert outputs, "no output was mapped to its .jinja template"
    for path in files(project):
        rel = path.relative_to(project).as_posix()
        assert not path.name.endswith(".jinja"), rel
        if rel in outputs:
            left = leftover_jinja(rel, path.read_text(errors="replace"))
            assert left is None, f"{rel} (from {outputs[rel]}): unrendered {left!r}"


@pytest.mark.parametrize(
    "planted",
    [
        "{% if use_huey %}worker{% endif %}",
        "{%- for name in names %}",
        "{{ project_slug }}",
        "{{- database | upper }}",
        "{# a Jinja comment #}",
    ],
)
def test_the_leftover_check_catches_planted_jinja(planted):
    for rel in ("compose.yaml", "src/config/settings.py", "justfile"):
        text = f"before\n{planted}\nafter\n"
        if rel == "justfile" and planted.startswith("{{"):
            continue  # just's own syntax: `just --list` refuses an unknown variable instead
        assert leftover_jinja(rel, text), (rel, planted)
    assert leftover_jinja(".github/workflows/ci.yml", "run: echo ${{ matrix.database }}\n") is None


def test_pinned_free_text_is_exactly_the_text_whose_default_follows_a_choice():
    """The matrix pins free text (combinations.PINNED_TEXT) only where a choice would move
    its default; otherwise free text stays at its default."""
    choices = {
        name
        for name, spec in questions().items()
        if "choices" in spec or spec.get("type") == "bool"
    }
    following = {
        name
        for name, spec in questions().items()
        if name not in choices
        and any(re.search(rf"\b{choice}\b", str(spec.get("default", ""))) for choice in choices)
    }
    assert set(PINNED_TEXT) == following


@pytest.mark.proof("rendered")
def test_wanted_files_exist_and_unwanted_are_absent(project, combo):
    slug = answers_of(project)["project_slug"]
    for rel, wanted in expected_files(combo, slug).items():
        assert (project / rel).is_file() == bool(wanted), f"{rel}: expected {bool(wanted)}"
    empty = [p for p in files(project) if p.stat().st_size == 0 and p.name != "__init__.py"]
    assert empty == [], "files turned off must be absent, not empty"


@pytest.mark.proof("rendered")
def test_answers_file_records_every_answer(project, combo):
    recorded = answers_of(project)
    assert recorded["_src_path"]
    for name, value in combo.render_data.items():
        assert recorded[name] == value, name
    assert not {k for k in recorded if k.startswith("use_")}, "derived values are not answers"


@pytest.mark.proof("rendered")
def test_uv_in_the_project_and_in_src_uses_the_python_asked_for(project, combo):
    for where in (project, project / "src"):
        assert (where / ".python-version").read_text().strip() == combo.render_data[
            "python_version"
        ], where


@pytest.mark.proof("rendered")
def test_scripts_are_executable(project, combo):
    for script in (project / "src" / "scripts").glob("*.sh"):
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"


@pytest.mark.proof("linted")
def test_python_passes_ruff_check_and_format(project, checks):
    """Keyed by the src/ tree (its pyproject.toml holds ruff's settings): the same bytes get
    the same verdict, so each distinct tree is linted once."""
    src = project / "src"

    def lint():
        return [run([tool("ruff"), *cmd], cwd=src) for cmd in (
            ["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."])]  # fmt: skip

    for result in checks.get("ruff", tree_digest(src), lint):
        assert result.returncode == 0, result.output


@pytest.mark.proof("linted")
def test_shell_scripts_pass_shellcheck(project, checks):
    for script in sorted((project / "src" / "scripts").glob("*.sh")):
        verdict = checks.get(
            "shellcheck",
            digest(script.read_bytes()),
            lambda s=script: run([tool("shellcheck"), "--external-sources", str(s)]),
        )
        assert verdict.returncode == 0, verdict.output


@pytest.mark.proof("linted")
def test_dockerfiles_pass_hadolint(project, checks):
    for dockerfile in sorted(project.glob("deploy/*/Dockerfile")):
        verdict = checks.get(
            "hadolint",
            digest(dockerfile.read_bytes()),
            lambda d=dockerfile: run([tool("hadolint"), str(d)]),
        )
        assert verdict.returncode == 0, verdict.output


def make_env_file(project: Path, combo: Combination) -> None:
    """.env as `just env` makes it; with 1Password (no `op` here) the references stay."""
    if combo.get("secrets") == "dotenv":
        result = run([tool("just"), "env"], cwd=project)
        assert result.returncode == 0, result.output
    else:
        (project / ".env").write_text((project / ".env.op").read_text())


@pytest.mark.proof("linted")
def test_compose_config_is_valid_for_each_profile(project_copy, combo, checks):
    """`docker compose config` for each profile, alone and with the debug overlay, with the
    .env `just env` writes (or, with 1Password, the references `op inject` would fill). Keyed
    by the compose files, the .env template and the profile: .env's secrets are fresh each
    time, everything else in it comes from the template."""
    project = project_copy(combo)
    make_env_file(project, combo)
    template = next(p for p in (project / ".env.example", project / ".env.op") if p.exists())
    overlays = [["compose.yaml"]] + ([["compose.yaml", "compose.debug.yaml"]]
                                     if combo.get("debugpy") else [])  # fmt: skip
    for profile in combo.profiles:
        for files in overlays:
            key = digest(
                *((project / f).read_bytes() for f in files), template.read_bytes(), profile
            )
            args = [arg for f in files for arg in ("-f", f)]
            verdict = checks.get(
                "compose",
                key,
                lambda a=args, p=profile: run(
                    ["docker", "compose", *a, "--profile", p, "config", "--quiet"], cwd=project
                ),
            )
            assert verdict.returncode == 0, verdict.output


@pytest.mark.proof("linted")
def test_healthchecks_probe_every_second_while_starting_unless_the_engine_predates_it(
    project_copy, combo, checks
):
    """Every healthcheck has start_interval (engine v25+) and compose.engine-before-25.yaml
    drops each one; a service waits for another's health only where it cannot wait for
    what it needs itself (the worker, for litestream's restore in the web service)."""
    project = project_copy(combo)
    make_env_file(project, combo)
    profiles = [arg for profile in combo.profiles for arg in ("--profile", profile)]

    def services(*files: str) -> dict:
        args = [arg for f in files for arg in ("-f", f)]
        verdict = checks.get(
            "compose-json",
            digest(*((project / f).read_bytes() for f in files), *profiles),
            lambda: run(["docker", "compose", *args, *profiles, "config", "--format", "json"],
                        cwd=project),
        )  # fmt: skip
        assert verdict.returncode == 0, verdict.output
        return json.loads(verdict.stdout)["services"]

    current = services("compose.yaml")
    assert {name: s["healthcheck"].get("start_interval") for name, s in current.items()} == {
        name: "1s" for name in current
    }
    old = services("compose.yaml", "compose.engine-before-25.yaml")
    assert old.keys() == current.keys()
    assert not [name for name, s in old.items() if "start_interval" in s["healthcheck"]]
    waits = {
        (name, needed)
        for name, s in current.items()
        for needed, how in s.get("depends_on", {}).items()
        if how["condition"] == "service_healthy"
    }
    assert waits == ({("worker-sq", "web-sq")} if combo.use_litestream and combo.use_huey
                     else set()), waits  # fmt: skip


@pytest.mark.proof("linted")
def test_justfile_parses_and_explains_every_recipe(project, checks):
    justfile = (project / "justfile").read_bytes()
    verdict = checks.get(
        "just", digest(justfile), lambda: run([tool("just"), "--list", "--unsorted"], cwd=project)
    )
    assert verdict.returncode == 0, verdict.output
    recipes = [line for line in verdict.stdout.splitlines()[1:] if line.strip()]
    assert recipes and all("#" in line for line in recipes), verdict.stdout


@pytest.mark.parametrize(("api", "overlay"), [("1.41", True), ("1.43", True), ("1.44", False),
                                             ("1.45", False), (None, False)])  # fmt: skip
def test_just_adds_the_old_engine_overlay_only_for_engines_before_v25(
    api, overlay, render, tmp_path
):
    """`just up` and the other compose recipes read compose.engine-before-25.yaml exactly when
    the engine answering is older than API 1.44 (a stand-in docker reports the version; with
    none answering, compose's own error is the clearer one)."""
    project = render({})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        # Without a daemon, docker prints an empty line for the server's version, then fails.
        "#!/bin/sh\n" + (f"echo {api}\n" if api else "echo; echo 'Cannot connect' >&2; exit 1\n")
    )
    (bin_dir / "docker").chmod(0o755)
    result = run([tool("just"), "--evaluate", "compose"], cwd=project,
                 env={"PATH": f"{bin_dir}:/usr/bin:/bin"})  # fmt: skip
    assert result.returncode == 0, result.output
    assert ("compose.engine-before-25.yaml" in result.stdout) == overlay, result.stdout


def dependency_set(project: Path) -> list[str]:
    pyproject = tomllib.loads((project / "src" / "pyproject.toml").read_text())
    return sorted(pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["dev"])


@pytest.fixture(scope="session")
def venv_for(tmp_path_factory, checks):
    """A virtualenv per distinct dependency list (host Python 3.13), built from PyPI by uv."""
    root = tmp_path_factory.mktemp("venvs")

    def build(deps: list[str]) -> Path:
        path = root / digest(*deps)
        made = run(["uv", "venv", "--quiet", "--python", HOST_PYTHON, str(path)], env=uv_env())
        assert made.returncode == 0, made.output
        installed = run(
            ["uv", "pip", "install", "--quiet", "--python", str(path / "bin" / "python"), *deps],
            env=uv_env(),
        )
        assert installed.returncode == 0, installed.output
        return path / "bin" / "python"

    return lambda deps: checks.get("venv", digest(*deps), lambda: build(deps))


@pytest.mark.proof("linted")
def test_django_check_and_migrations_are_clean(project, venv_for, checks, tmp_path_factory):
    """`manage.py check --deploy` and `makemigrations --check` on the production settings.
    Keyed by the app code and its dependency list: python_version changes neither (only
    .python-version, requires-python and ruff's target, which the ruff test covers)."""
    src = project / "src"
    deps = dependency_set(project)
    python = venv_for(deps)

    def verdict():
        data = tmp_path_factory.mktemp("db")
        env = {
            **uv_env(),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "check-" + "k" * 60,
            "DATABASE_URL": f"sqlite:///{data / 'db.sqlite3'}",
            # Nothing may land in the shared render: huey's queue file, bytecode.
            "HUEY_SQLITE_PATH": str(data / "huey.sqlite3"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        results = [
            run(
                [str(python), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                cwd=src,
                env=env,
            ),
            run(
                [str(python), "manage.py", "makemigrations", "--check", "--dry-run"],
                cwd=src,
                env=env,
            ),
        ]
        return results

    key = digest(tree_digest(src, exclude=frozenset({"pyproject.toml", ".python-version"})), *deps)
    for result in checks.get("django", key, verdict):
        assert result.returncode == 0, result.output


GUNICORN_SETTINGS = (
    "import sys\n"
    "from gunicorn.config import Config\n"
    "missing = [name for name in sys.argv[1:] if name not in Config().settings]\n"
    "print('missing from this gunicorn:', missing)\n"
    "sys.exit(1 if missing else 0)\n"
)


@pytest.mark.proof("linted")
def test_the_gunicorn_floor_knows_every_setting_of_the_config(project, checks):
    """pyproject.toml's lowest allowed gunicorn has every setting config/gunicorn.py sets, so
    any version the lock may pick starts with that config."""
    pyproject = (project / "src" / "pyproject.toml").read_text()
    floor = re.search(r'"gunicorn>=([\d.]+)"', pyproject)[1]
    config = (project / "src" / "config" / "gunicorn.py").read_text()
    names = [
        target.id
        for node in ast.parse(config).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.islower()
    ]
    assert "bind" in names and "logger_class" in names, names
    verdict = checks.get(
        "gunicorn-floor",
        digest(floor, *names),
        lambda: run(
            ["uv", "run", "--quiet", "--no-project", "--python", HOST_PYTHON,
             "--with", f"gunicorn=={floor}", "python", "-c", GUNICORN_SETTINGS, *names],
            env=uv_env(),
        ),
    )  # fmt: skip
    assert verdict.returncode == 0, verdict.output


def generated_readme_check(project: Path):
    """The generated project's own check of its README's environment table, run on it."""
    path = project / "src/tests/test_readme.py"
    spec = importlib.util.spec_from_file_location(f"readme_{digest(str(project))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.test_readme_lists_every_environment_variable_the_settings_read


@pytest.mark.proof("rendered")
def test_readme_lists_every_environment_variable_the_settings_read(project):
    generated_readme_check(project)()


def test_the_environment_table_check_catches_a_variable_without_its_row(project_copy):
    project = project_copy(one())
    settings = project / "src/config/settings.py"
    settings.write_text(settings.read_text() + '\nBILLING_URL = os.environ["BILLING_URL"]\n')
    with pytest.raises(AssertionError, match=r"\| `BILLING_URL` \| \(none\) \| required \|"):
        generated_readme_check(project)()


# The README's hand-over, in the order a newcomer needs it.
README_SECTIONS = (
    "## What was chosen",
    "## First run",
    "## First commit",
    "## First deploy (Fly.io)",
    "## Backups and the restore drill",
    "## Several replicas: Docker Swarm",
    "## Updating from the template",
    "## Layout",
    "## Settings",
)


@pytest.mark.proof("rendered")
def test_readme_hands_over_in_order_and_names_the_template_it_came_from(project, combo):
    text = (project / "README.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    wanted = [
        h
        for h in README_SECTIONS
        if (h != "## First deploy (Fly.io)" or combo.get("fly"))
        and (h != "## Backups and the restore drill" or combo.use_sqlite)
    ]
    assert headings == wanted
    assert str(answers_of(project)["_src_path"]) in text
    assert "github.com/org/start-django" not in text


@pytest.mark.proof("linted")
def test_the_swarm_stack_is_valid_and_runs_sqlite_as_one_replica(project, combo, checks):
    """`docker stack config` accepts stack.yaml with what the recipes set. Every service
    resolves by DNS round robin (no IPVS needed), the proxy's port is host-mode, secrets are
    Docker secrets and no .env is read. PostgreSQL: web 3 and a Redis worker 2, rolling
    start-first; SQLite: one web replica, stopped before its replacement starts."""
    env = {**os.environ, "STACK_NAME": "sdt-check", "IMAGE_TAG": "v1", "CADDYFILE_DIGEST": "0" * 12}
    key = digest((project / "stack.yaml").read_bytes())
    command = ["docker", "stack", "config", "--compose-file", "stack.yaml"]
    verdict = checks.get("stack", key, lambda: run(command, cwd=project, env=env))
    assert verdict.returncode == 0, verdict.output
    services = yaml.safe_load(verdict.stdout)["services"]
    assert all(s["deploy"]["endpoint_mode"] == "dnsrr" for s in services.values() if
               s.get("deploy", {}).get("mode") != "replicated-job")  # fmt: skip
    assert [p["mode"] for p in services["proxy"]["ports"]] == ["host"]
    assert "caddy-data:/data" in [f"{v['source']}:{v['target']}" for v in
                                  services["proxy"]["volumes"]]  # fmt: skip
    assert "env_file" not in verdict.stdout
    # With a domain, `just stack-deploy` adds stack.https.yaml: 80 and 443, host mode too.
    https = [*command, "--compose-file", "stack.https.yaml"]
    key = digest(
        (project / "stack.yaml").read_bytes() + (project / "stack.https.yaml").read_bytes()
    )
    verdict = checks.get("stack-https", key, lambda: run(https, cwd=project, env=env))
    assert verdict.returncode == 0, verdict.output
    ports = yaml.safe_load(verdict.stdout)["services"]["proxy"]["ports"]
    assert sorted((p["target"], p["published"], p["mode"]) for p in ports) == [
        (80, 80, "host"), (443, 443, "host"), (8080, 8080, "host")
    ]  # fmt: skip
    web = services["web"]
    assert {s["source"] for s in web["secrets"]} >= {"secret_key"}
    order = web["deploy"]["update_config"]["order"]
    if combo.use_postgres:
        assert (web["deploy"]["replicas"], order) == (3, "start-first")
        assert "migrate" in services and web["environment"]["MIGRATE_ON_START"] == "false"
        if combo.use_redis:
            assert services["worker"]["deploy"]["replicas"] == 2
        if combo.use_sqlite_queue:
            assert services["worker"]["deploy"]["replicas"] == 1
    else:
        assert (web["deploy"]["replicas"], order) == (1, "stop-first")
        # The worker, if any, runs beside web: nothing opens the database before its restore.
        assert "worker" not in services
        assert web["environment"].get("WORKER_BESIDE_WEB") == ("true" if combo.use_huey else None)


def test_the_harness_renders_byte_for_byte_what_the_copier_command_renders(render, tmp_path):
    """harness.fastcopier (one `git config` per render, compiled Jinja kept) changes how fast
    copier renders, never what: the default answers and the spread's, against `copier copy`."""
    from harness.combinations import spread
    from harness.renders import snapshot

    for combo in spread():
        dest = tmp_path / combo.id
        args = [arg for k, v in combo.render_data.items() for arg in ("--data", f"{k}={v}")]
        made = run([tool("copier"), "copy", "--defaults", "--quiet", *args, snapshot(), dest])
        assert made.returncode == 0, made.output
        assert tree_digest(dest) == tree_digest(render(combo)), combo.id
