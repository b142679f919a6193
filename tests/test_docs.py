"""The manual (docs/ and mkdocs.yml) is part of the product: it builds with `mkdocs build
--strict` (links and anchors resolve, every snippet exists), its generated parts agree with
the template and with `docker compose config`, and every command it shows is run here,
against a freshly rendered project and a real Docker engine, or is listed below as not
runnable here, with the reason.

Commands live in docs/snippets/*.sh, which the pages include; the tests run those same files,
with two substitutions: the template URL `gh:org/start-django` becomes a local git clone of
this template (with tagged versions), and `127.0.0.1:8080` / `127.0.0.1:8000` become free
ports (other stacks may hold 8080). Docker names that a parallel session could share get a
per-session suffix.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from test_render import expected_files

from combinations import ROOT, Combination
from conftest import BIN, IN_CI, require, run, tool, uv_env
from engine import SUITE_PREFIX, ensure_for_compose, remove_images, require_engine

DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
SOURCE = "gh:org/start-django"
NOT_RUN = "# Not run by the tests:"
SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "zsh"}
TOKEN = f"d{os.getpid() % 100000}"
# The docs' compose project and by-hand names, unique per session (and found by
# `engine.py forget` through its prefix).
COMPOSE_PROJECT = f"{SUITE_PREFIX}{TOKEN}-cafe-ledger"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Docs Tests",
    "GIT_AUTHOR_EMAIL": "docs@example.com",
    "GIT_COMMITTER_NAME": "Docs Tests",
    "GIT_COMMITTER_EMAIL": "docs@example.com",
}

# Shown in the manual, but not run by this suite, and why. Each starts with NOT_RUN.
NOT_RUNNABLE = {
    "install-tools.sh": "installs tools machine-wide; the suite uses its own pinned copier and just",
    "copy-interactive.sh": "Copier asks each question at a terminal",
    "createsuperuser.sh": "Django asks for a password at a terminal",
    "by-hand-run-pg.sh": "needs PostgreSQL and Redis on the host, reached through the Docker "
    "bridge; tests here may only reach loopback and the project's own containers",
    "remote-context.sh": "needs a remote machine with a Docker engine, over SSH",
    "remote-env.sh": "needs a remote machine with a Docker engine, over SSH",
    "op-vault.sh": "needs the 1Password CLI and a signed-in account",
    "env-op.sh": "needs the 1Password CLI and a signed-in account",
    "fly-create.sh": "needs flyctl and a Fly.io account",
    "fly-secrets.sh": "needs flyctl and a Fly.io account",
    "fly-secrets-op.sh": "needs flyctl, the 1Password CLI and both accounts",
    "fly-tigris.sh": "needs flyctl and a Fly.io account",
    "fly-deploy.sh": "needs flyctl and a Fly.io account",
    "fly-restore-drill.sh": "needs a production bucket and its credentials",
    "benchmark.sh": "a measurement that takes minutes, run by hand; it writes docs/benchmark.md",
}
# Run, but by something other than this module.
COVERED_ELSEWHERE = {
    "template-tests.sh": "scripts/test is what CI runs (.ci/run): the suite this test is part of",
}
# The snippets each scenario below runs; together with the two lists above, every snippet.
COPY_SNIPPETS = [
    "copy-defaults.sh",
    "copy-data.sh",
    "copy-data-file.sh",
    "copy-vcs-ref.sh",
    "copy-1password.sh",
    "first-commit.sh",
    "env-dotenv.sh",
    "env-op-missing.sh",
    "compose-config.sh",
]
HOST_SNIPPETS = ["host-tests.sh", "runserver.sh", "pre-commit.sh"]
UPDATE_SNIPPETS = [
    "check-update.sh",
    "update.sh",
    "update-data.sh",
    "update-current.sh",
    "update-conflict.sh",
    "update-abort.sh",
    "update-rej.sh",
]
DOCKER_SNIPPETS = [
    "first-run.sh",
    "stack.sh",
    "worker-enqueue.sh",
    "logs.sh",
    "worker-stop.sh",
    "restore-drill.sh",
    "restore-check.sh",
    "debug.sh",
    "debug-stop.sh",
    "by-hand-build.sh",
    "by-hand-run-sq.sh",
    "by-hand-clean.sh",
]
SITE_SNIPPETS = ["docs-build.sh", "docs-serve.sh"]
SCENARIOS = COPY_SNIPPETS + HOST_SNIPPETS + UPDATE_SNIPPETS + DOCKER_SNIPPETS + SITE_SNIPPETS


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = load_hooks()


# --- reading the pages ----------------------------------------------------------------------

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
INCLUDE = re.compile(r'^--8<-- "(?P<file>[^":]+)(?::[^"]*)?"$')


def pages() -> dict[str, str]:
    return {p.relative_to(DOCS).as_posix(): p.read_text() for p in sorted(DOCS.glob("*.md"))}


def fences(text: str):
    for match in FENCE.finditer(text):
        indent = match.group("indent")
        info = match.group("info").strip()
        language = info.split()[0] if info else ""
        body = [line[len(indent) :] for line in match.group("body").splitlines()]
        yield language, info, body


def included_snippets() -> dict[str, list[str]]:
    """Snippet file -> the pages that include it."""
    found: dict[str, list[str]] = {}
    for page, text in pages().items():
        for line in text.splitlines():
            match = INCLUDE.match(line.strip())
            if match:
                found.setdefault(match.group("file"), []).append(page)
    return found


def directives(kind: str) -> list[dict]:
    specs = []
    for page, text in pages().items():
        for language, _info, body in fences(text):
            if language == kind:
                specs.append({**(yaml.safe_load("\n".join(body)) or {}), "page": page})
    return specs


# --- running the snippets --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise AssertionError(f"{what}: the command exited ({proc.returncode})\n{tail}")
        time.sleep(1)
    tail = log.read_text()[-3000:] if log else ""
    raise AssertionError(f"{what}: not within {timeout:.0f}s\n{tail}")


class Shell:
    """Runs snippet files in a working folder, as a reader would paste them into bash."""

    def __init__(self, workdir: Path, template: Path, extra_env: dict | None = None):
        self.workdir = workdir
        self.logdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.web_port = free_port()
        self.dev_port = free_port()
        self.debug_port = free_port()
        path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
        self.env = {
            **uv_env(),
            **GIT_IDENTITY,
            "PATH": path,
            "WEB_PORT": str(self.web_port),
            "DEBUG_PORT": str(self.debug_port),
            "COMPOSE_PROJECT_NAME": COMPOSE_PROJECT,
            "NO_MKDOCS_2_WARNING": "1",
            **(extra_env or {}),
        }
        self.substitutions = [
            (SOURCE, str(template)),
            ("127.0.0.1:8080", f"127.0.0.1:{self.web_port}"),
            ("127.0.0.1:8000", f"127.0.0.1:{self.dev_port}"),
            ("127.0.0.1:5678", f"127.0.0.1:{self.debug_port}"),
            ("cafe-ledger_", f"{COMPOSE_PROJECT}_"),  # compose volumes
        ]
        self.by_hand = re.compile(r"\bcafe-ledger-(net|data|replica|redis|web|worker|pg|sq)\b")

    def script(self, name: str) -> str:
        text = (SNIPPETS / name).read_text()
        for old, new in self.substitutions:
            text = text.replace(old, new)
        if name.startswith("by-hand-"):  # names the by-hand commands give containers etc.
            text = self.by_hand.sub(rf"{COMPOSE_PROJECT}-by-hand-\1", text)
        return "set -euo pipefail\n" + text

    def run(self, name: str, expect_ok: bool = True, timeout: float = 1500):
        result = run(
            ["bash", "-c", self.script(name)], cwd=self.workdir, env=self.env, timeout=timeout
        )
        result.output = f"--- {name}\n{result.stdout}{result.stderr}"
        if expect_ok:
            assert result.returncode == 0, result.output
        return result

    @contextlib.contextmanager
    def background(self, name: str, stop=signal.SIGINT):
        """A snippet whose last command keeps running (a server, `logs --follow`)."""
        log = self.logdir / f"{name}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                ["bash", "-c", self.script(name)],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield proc, log
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, stop)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def git(repo: Path, *args: str) -> str:
    result = run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
    )
    assert result.returncode == 0, result.output
    return result.stdout


def template_repo(path: Path) -> Path:
    """This template as a git repository with one release, v1.0.0 (what `gh:org/start-django`
    stands for in the snippets)."""
    path.mkdir(parents=True)
    for name in ("copier.yml", "template", "migrations"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, path / name)
    git(path, "init", "--quiet")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", "v1.0.0")
    git(path, "tag", "v1.0.0")
    return path


def release_v1_1(repo: Path) -> None:
    """A new template version: a new file, and the first line of .gitignore reworded."""
    (repo / "template" / "NOTES.md").write_text("New in v1.1.0.\n")
    gitignore = repo / "template" / ".gitignore"
    lines = gitignore.read_text().splitlines(keepends=True)
    lines[0] = "# template v1.1.0 says hello\n"
    gitignore.write_text("".join(lines))
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "v1.1.0")
    git(repo, "tag", "v1.1.0")


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


# === the site ===================================================================================


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = run(
        [tool("mkdocs"), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == [], "\n".join(warnings)
    return out


def test_site_builds_strict_with_every_page_in_the_nav(site):
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def nav_files(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                yield from nav_files(value)
            else:
                yield value

    assert sorted(nav_files(config["nav"])) == sorted(pages())
    for page in pages():
        built = site / (page[:-3] + "/index.html" if page != "index.md" else "index.html")
        assert built.is_file(), page


def test_generated_parts_are_in_the_built_pages(site):
    html = {p: (site / p).read_text() for p in ("index.html", "containers/index.html")}
    questions = (site / "questions" / "index.html").read_text()
    diagrams = sum(text.count('class="mermaid"') for text in html.values())
    assert diagrams == len(
        [d for d in directives("compose-diagram") if d["page"] in ("index.md", "containers.md")]
    )
    for name in hooks.questions():
        assert f'id="{name}"' in questions, f"no section for question {name}"
    assert "generated:" not in "".join(
        (site / p).read_text() for p in ("questions/index.html", "testing/index.html")
    )
    for directive in ("rendered-file", "compose-diagram", "just-list"):
        assert f"language-{directive}" not in "".join(
            p.read_text() for p in site.rglob("*.html")
        ), f"a {directive} block was left unexpanded"


def test_code_annotations_land_in_comments(site):
    """Material turns a "(n)" inside a comment token into an annotation; anywhere else it
    would show as text. Each page must carry at least as many as its blocks ask for."""
    marker = re.compile(r'<span class="(?:c|c1|cm|ch|cs)">[^<]*\((\d+)\)!?</span>')
    wanted: dict[str, int] = {}
    for spec in directives("rendered-file"):
        wanted[spec["page"]] = wanted.get(spec["page"], 0) + len(spec.get("annotate") or [])
    for page, count in wanted.items():
        if not count:
            continue
        html = (site / page[:-3] / "index.html").read_text()
        assert len(marker.findall(html)) >= count, f"{page}: annotations not in comments"


def test_links_and_anchors_between_pages_resolve():
    """mkdocs --strict validates Markdown links; this also checks the anchors of links
    written as HTML or inside generated tables, against the headings of the target page."""
    from markdown.extensions.toc import slugify

    anchors: dict[str, set[str]] = {}
    for page, text in pages().items():
        ids = set()
        for line in hooks.expand(text, page).splitlines():
            heading = re.match(r"^#{1,6} (.+?)(?: \{ #([\w-]+) \})?$", line)
            if heading:
                ids.add(heading.group(2) or slugify(heading.group(1).replace("`", ""), "-"))
        anchors[page] = ids
    for page, text in pages().items():
        for target, anchor in re.findall(r"\]\(([\w-]*\.md)?#([\w-]+)\)", hooks.expand(text, page)):
            where = target or page
            assert where in anchors, f"{page}: link to missing page {where}"
            assert anchor in anchors[where], f"{page}: no #{anchor} in {where}"


def test_benchmark_page_is_a_result_or_says_how_to_make_one():
    text = (DOCS / "benchmark.md").read_text()
    if "Not measured yet" in text:
        assert "benchmark.sh" in text or "scripts/benchmark" in text
    else:
        assert re.search(r"\d{4}-\d{2}-\d{2}", text), "the benchmark needs its date"
        assert "|" in text, "the benchmark needs its table"


# === the commands the pages show ===============================================================


def test_every_shell_block_includes_a_snippet_file():
    for page, text in pages().items():
        for language, info, body in fences(text):
            if language not in SHELL_LANGUAGES:
                continue
            lines = [line for line in body if line.strip()]
            assert lines and all(INCLUDE.match(line.strip()) for line in lines), (
                f"{page}: a ```{info} block shows commands that are not in docs/snippets/"
            )


def test_every_snippet_is_shown_and_accounted_for():
    files = sorted(p.name for p in SNIPPETS.glob("*.sh"))
    shown = included_snippets()
    assert sorted(shown) == files, "every snippet file is included by a page, and exists"
    accounted = set(SCENARIOS) | set(NOT_RUNNABLE) | set(COVERED_ELSEWHERE)
    assert sorted(accounted) == files
    assert not set(SCENARIOS) & set(NOT_RUNNABLE)
    assert len(SCENARIOS) == len(set(SCENARIOS))


def test_commands_that_cannot_run_here_say_so_on_the_page():
    for name in sorted(p.name for p in SNIPPETS.glob("*.sh")):
        first = (SNIPPETS / name).read_text().splitlines()[0]
        if name in NOT_RUNNABLE:
            assert first.startswith(NOT_RUN), f"{name} must start with {NOT_RUN!r}"
        else:
            assert not first.startswith(NOT_RUN), f"{name} is run here; do not say otherwise"


def test_work_covered_elsewhere_is_really_run():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


# --- templates, recipes and questions named in the prose --------------------------------------


@pytest.fixture(scope="module")
def full_project() -> Path:
    return hooks.render({"project_name": "Café Ledger", "database": "both"})


def recipes_of(project: Path) -> list[str]:
    result = run([tool("just"), "--summary"], cwd=project)
    assert result.returncode == 0, result.output
    return result.stdout.split()


def test_every_recipe_is_in_the_recipe_table_and_the_remote_table(full_project):
    containers = (DOCS / "containers.md").read_text()
    remote = (DOCS / "remote-docker.md").read_text()
    for recipe in recipes_of(full_project):
        if recipe == "default":
            continue
        assert re.search(rf"^\| `just {recipe}\b", containers, re.MULTILINE), (
            f"{recipe}: containers.md"
        )
        assert re.search(rf"^\| `just {recipe}`", remote, re.MULTILINE), (
            f"{recipe}: remote-docker.md"
        )


def test_just_commands_named_anywhere_are_recipes(full_project):
    recipes = set(recipes_of(full_project))
    named = []
    for text in pages().values():
        named += re.findall(r"`just ([a-z][\w-]*)", text)
    for snippet in SNIPPETS.glob("*.sh"):
        for line in snippet.read_text().splitlines():
            code = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
            named += re.findall(r"(?:^|\s)just ([a-z][\w-]*)", code)
    assert named
    for recipe in named:
        assert recipe in recipes, f"`just {recipe}` is not a recipe"


def test_remote_table_marks_exactly_the_bind_mounting_recipe_as_local_only(full_project, tmp_path):
    """The debug overlay is the only compose file with a bind mount, `just debug` the only
    recipe that uses it, and the only docker recipe the remote page says does not work."""
    project = tmp_path / "p"
    shutil.copytree(full_project, project)
    (project / ".env").write_text("POSTGRES_PASSWORD=x\n")
    binds = {}
    for files in (["compose.yaml"], ["compose.yaml", "compose.debug.yaml"]):
        for profile in ("pg", "sq"):
            args = [a for f in files for a in ("-f", f)]
            config = compose_config(project, args, profile)
            binds[tuple(files), profile] = [
                m
                for svc in config["services"].values()
                for m in svc.get("volumes", [])
                if m["type"] == "bind"
            ]
            if len(files) == 1:
                assert binds[tuple(files), profile] == []
            else:
                assert binds[tuple(files), profile], "the debug overlay bind-mounts src/"
    justfile = (project / "justfile").read_text()
    users = [
        block.split(":")[0]
        for block in re.split(r"\n(?=[a-z])", justfile)
        if "compose.debug.yaml" in block
    ]
    assert [u.split()[0] for u in users] == ["debug"]
    remote = (DOCS / "remote-docker.md").read_text()
    rows = dict(re.findall(r"^\| `just (\w+)` \| ([^|]+) \|", remote, re.MULTILINE))
    assert "does not work" in rows.pop("debug")
    assert not any("does not work" in verdict for verdict in rows.values())


def test_every_question_has_its_own_section():
    text = (DOCS / "questions.md").read_text()
    for name in hooks.questions():
        assert re.search(rf"^### `{name}`$", text, re.MULTILINE), (
            f"questions.md: no section for {name}"
        )


# --- generated parts against independent sources ---------------------------------------------


def compose_config(project: Path, file_args: list[str], profile: str) -> dict:
    result = run(
        ["docker", "compose", *file_args, "--profile", profile, "config", "--format", "json"],
        cwd=project,
    )
    if result.returncode != 0 and "is not a docker command" in result.stderr:
        require("docker compose v2 is not installed (scripts/bootstrap installs it)")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def diagram_id(spec: dict) -> str:
    answers = [f"{k}={v}" for k, v in (spec.get("answers") or {}).items() if k != "project_name"]
    return "-".join(
        [spec["page"][:-3], spec["profile"], *answers] + (["debug"] if spec.get("debug") else [])
    )


@pytest.mark.parametrize("spec", directives("compose-diagram"), ids=diagram_id)
def test_diagram_agrees_with_docker_compose_config(spec, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(hooks.render(spec.get("answers") or {}), project)
    (project / ".env").write_text("POSTGRES_PASSWORD=x\n")
    files = ["compose.yaml"] + (["compose.debug.yaml"] if spec.get("debug") else [])
    config = compose_config(project, [a for f in files for a in ("-f", f)], spec["profile"])
    model = hooks.compose_model(project, spec["profile"], bool(spec.get("debug")))
    assert set(model["services"]) == set(config["services"])
    assert model["volumes"] == set(config.get("volumes", {}))
    for name, drawn in model["services"].items():
        real = config["services"][name]
        mounts = {
            ("bind" if m["type"] == "bind" else "volume", m["target"])
            for m in real.get("volumes", [])
        }
        assert {(kind, target) for kind, _source, target in drawn["mounts"]} == mounts, name
        named = {
            (m["source"], m["target"]) for m in real.get("volumes", []) if m["type"] == "volume"
        }
        assert {(s, t) for k, s, t in drawn["mounts"] if k == "volume"} == named, name
        ports = {
            (p["host_ip"], str(p["published"]), str(p["target"])) for p in real.get("ports", [])
        }
        assert set(drawn["ports"]) == ports, name
        depends = {dep: c["condition"] for dep, c in (real.get("depends_on") or {}).items()}
        assert drawn["depends_on"] == depends, name
        if real.get("command"):
            assert drawn["command"] == " ".join(real["command"]), name
        assert drawn["image"] == real.get("image"), name
    mermaid = hooks.compose_diagram(
        spec.get("answers") or {}, spec["profile"], bool(spec.get("debug"))
    )
    for name in model["services"]:
        assert f"<b>{name}</b>" in mermaid
    for volume in model["volumes"]:
        assert f'[("{volume}")]' in mermaid


def test_answer_table_agrees_with_the_render_tests_expected_files():
    """The table comes from diffing renders; the render tests state per combination which
    files must exist. Where they speak of the same file, they must agree."""
    defaults = hooks.default_answers()
    choice_names = [n for n, s in hooks.questions().items() if hooks.choices(s)]

    def combination(data: dict) -> Combination:
        spec_defaults = {n: s.get("default") for n, s in hooks.questions().items()}
        full = {**spec_defaults, **defaults, **data}
        asked = {}
        for name in choice_names:
            if hooks.asked(hooks.questions()[name], full):
                asked[name] = full[name]
        return Combination(tuple(asked.items()))

    def wanted(data: dict) -> set[str]:
        files = expected_files(combination(data), "SLUG")
        return {p.replace("src/SLUG/", "src/<project_slug>/") for p, on in files.items() if on}

    known = {
        p.replace("src/SLUG/", "src/<project_slug>/")
        for p in expected_files(combination({}), "SLUG")
    }
    rows = [r for r in hooks.answer_rows() if r["question"] in choice_names]
    assert rows
    for row in rows:
        before = wanted({**row["context"], row["question"]: row["default"]})
        after = wanted({**row["context"], row["question"]: row["value"]})
        label = f"{row['question']}={row['value']}"
        assert sorted(after - before) == sorted(set(row["added"]) & known), label
        assert sorted(before - after) == sorted(set(row["removed"]) & known), label


def test_rendered_file_blocks_and_annotations_expand():
    for spec in directives("rendered-file"):
        block, count = hooks.rendered_file(spec)
        markers = {int(m) for m in re.findall(r"\((\d+)\)!?$", block, re.MULTILINE)}
        assert set(range(1, count + 1)) <= markers, spec["path"]


# === scenarios: the snippets, run =================================================================


def test_copy_and_first_steps(tmp_path):
    repo = template_repo(tmp_path / "start-django")
    sh = Shell(tmp_path / "work", repo)
    for name in (
        "copy-defaults.sh",
        "copy-data.sh",
        "copy-data-file.sh",
        "copy-vcs-ref.sh",
        "copy-1password.sh",
    ):
        sh.run(name)
    work = sh.workdir
    assert answers(work / "my-project")["project_slug"] == "my_django_project"
    ledger = answers(work / "cafe-ledger")
    assert (ledger["project_name"], ledger["project_slug"], ledger["database"]) == (
        "Café Ledger",
        "cafe_ledger",
        "both",
    )
    assert ledger["_commit"] == "v1.0.0"
    assert (work / "cafe-ledger" / "deploy" / "pg" / "Dockerfile").is_file()
    assert (work / "cafe-ledger" / "deploy" / "sq" / "Dockerfile").is_file()
    sq = answers(work / "cafe-ledger-sq")
    assert (sq["database"], sq["worker_broker"], sq["fly_region"]) == ("sqlite", "sqlite", "fra")
    assert answers(work / "cafe-ledger-v1")["_commit"] == "v1.0.0"
    assert (work / "cafe-ledger-op" / ".env.op").is_file()

    sh.run("first-commit.sh")
    assert git(work / "cafe-ledger", "status", "--short") == ""

    made = sh.run("env-dotenv.sh")
    assert "wrote .env" in made.stdout and ".env exists; left as it is" in made.stdout
    assert made.stdout.strip().endswith("1")
    key = re.search(
        r"^SECRET_KEY=(.*)$", (work / "cafe-ledger" / ".env").read_text(), re.MULTILINE
    ).group(1)
    assert len(key) == 67, "the page says 67 random characters"
    assert git(work / "cafe-ledger", "status", "--short") == "", ".env must stay untracked"

    missing = sh.run("env-op-missing.sh", expect_ok=False)
    shown = re.search(
        r'```text title="output"\n(.*?)```', (DOCS / "secrets.md").read_text(), re.DOTALL
    ).group(1)
    assert missing.returncode != 0
    for line in shown.strip().splitlines():
        assert line.strip() in missing.output, "the output shown on the secrets page"
    assert not (work / "cafe-ledger-op" / ".env").exists()

    config = sh.run("compose-config.sh")
    lines = config.stdout.split()
    assert {"web-pg", "worker-pg", "postgres", "redis"} <= set(lines), config.output
    assert {"media", "sq-data", "sq-replica"} <= set(lines), config.output


@pytest.fixture(scope="module")
def redis_for_docs(request):
    return request.getfixturevalue("redis_url")


@pytest.mark.services
def test_host_commands(tmp_path, redis_for_docs):
    """`just lock/test/lint`, the host dev server and the pre-commit hooks, in a fresh
    project; the generated tests get a real Redis, as the page says to give them."""
    repo = template_repo(tmp_path / "start-django")
    sh = Shell(tmp_path / "work", repo, {"REDIS_URL": redis_for_docs})
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    tests = sh.run("host-tests.sh")
    assert re.search(r"\d+ passed", tests.stdout), tests.output
    assert " skipped" not in tests.stdout or not IN_CI, tests.output

    with sh.background("runserver.sh", stop=signal.SIGTERM) as (proc, log):
        base = f"http://127.0.0.1:{sh.dev_port}"
        wait_for(
            lambda: http_status(base + "/health/") == 200, 180, "runserver /health/", proc, log
        )
        assert http_status(base + "/") == 200

    hooks_run = sh.run("pre-commit.sh")
    assert "Passed" in hooks_run.stdout and "Failed" not in hooks_run.stdout, hooks_run.output


def test_update_commands(tmp_path):
    repo = template_repo(tmp_path / "start-django")
    sh = Shell(tmp_path / "work", repo)
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    project = sh.workdir / "cafe-ledger"
    settings = project / "src" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nTEAM_SETTING = 'ours'\n")
    # The page says an update refuses uncommitted changes.
    dirty = run([tool("copier"), "update", "--defaults"], cwd=project, env=sh.env, timeout=300)
    assert dirty.returncode != 0, dirty.output
    git(project, "commit", "--quiet", "--all", "--message", "Our own setting")
    release_v1_1(repo)

    check = sh.run("check-update.sh")
    assert "1.1.0" in check.stdout and '"update_available": true' in check.stdout

    sh.run("update.sh")
    assert answers(project)["_commit"] == "v1.1.0"
    assert (project / "NOTES.md").is_file(), "the template's new file arrived"
    assert "TEAM_SETTING = 'ours'" in settings.read_text(), "local work was kept"
    assert (project / ".gitignore").read_text().startswith("# template v1.1.0 says hello")
    assert not list(project.rglob("*.rej"))

    sh.run("update-data.sh")
    assert not (project / "src" / "scripts" / "worker.sh").exists()
    assert not (project / "src" / "cafe_ledger" / "tasks.py").exists()
    sh.run("update-current.sh")
    assert not (project / "fly.toml").exists()
    assert answers(project)["_commit"] == "v1.1.0"
    assert git(project, "status", "--short") == ""


def test_update_conflict_commands(tmp_path):
    repo = template_repo(tmp_path / "start-django")
    sh = Shell(tmp_path / "work", repo)
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    project = sh.workdir / "cafe-ledger"
    gitignore = project / ".gitignore"
    lines = gitignore.read_text().splitlines(keepends=True)
    lines[0] = "# we said it first\n"
    gitignore.write_text("".join(lines))
    git(project, "commit", "--quiet", "--all", "--message", "Our wording")
    release_v1_1(repo)

    conflict = sh.run("update-conflict.sh")
    assert "UU .gitignore" in conflict.stdout
    text = gitignore.read_text()
    shown = re.search(
        r'```text title="a conflicted file after copier update"\n(.*?)```',
        (DOCS / "updating.md").read_text(),
        re.DOTALL,
    ).group(1)
    first, last = shown.strip().splitlines()[0], shown.strip().splitlines()[-1]
    assert text.startswith(
        f"{first}\n# we said it first\n=======\n# template v1.1.0 says hello\n{last}\n"
    ), text[:300]

    abort = sh.run("update-abort.sh")
    assert "Removing NOTES.md" in abort.stdout, abort.output
    assert git(project, "status", "--short") == ""
    assert gitignore.read_text().startswith("# we said it first")

    sh.run("update-rej.sh")
    assert gitignore.read_text().startswith("# template v1.1.0 says hello")
    assert "+# we said it first" in (project / ".gitignore.rej").read_text()


def test_site_commands(tmp_path):
    sh = Shell(tmp_path / "work", ROOT)
    sh.workdir = ROOT  # the logs stay in tmp_path
    built = sh.run("docs-build.sh", timeout=900)
    assert "Documentation built" in built.output
    with sh.background("docs-serve.sh") as (proc, log):
        wait_for(
            lambda: http_status(f"http://127.0.0.1:{sh.dev_port}/") == 200,
            300,
            "mkdocs serve",
            proc,
            log,
        )


# --- the Docker scenarios, in page order, on one project ------------------------------------


@pytest.fixture(scope="module")
def stack_shell(tmp_path_factory):
    require_engine()
    root = tmp_path_factory.mktemp("docs-docker")
    repo = template_repo(root / "start-django")
    sh = Shell(root / "work", repo)
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    project = sh.workdir / "cafe-ledger"
    for profile in ("pg", "sq"):  # every image the pages' commands use, before they start
        ensure_for_compose(project, profile, ("compose.yaml", "compose.debug.yaml"), env=sh.env)
    by_hand_cleanup()  # leftovers of an interrupted run
    yield sh
    for files in (["compose.yaml"], ["compose.yaml", "compose.debug.yaml"]):
        args = [a for f in files for a in ("-f", f)]
        run(
            ["docker", "compose", *args, "--profile", "pg", "--profile", "sq",
             "down", "--volumes", "--remove-orphans"],
            cwd=project, env=sh.env, timeout=300,
        )  # fmt: skip
    by_hand_cleanup()
    remove_images(*(f"{COMPOSE_PROJECT}-{name}" for name in ("pg", "sq", "pg-debug", "sq-debug")))


def by_hand_cleanup() -> None:
    by_hand = f"{COMPOSE_PROJECT}-by-hand"
    run(["docker", "rm", "--force", *(f"{by_hand}-{part}" for part in ("web", "worker", "redis"))])
    run(["docker", "network", "rm", f"{by_hand}-net"])
    run(["docker", "volume", "rm", f"{by_hand}-data", f"{by_hand}-replica"])
    remove_images(f"{by_hand}-pg", f"{by_hand}-sq")


@pytest.mark.docker
def test_first_run(stack_shell):
    result = stack_shell.run("first-run.sh")
    assert '{"status": "ok", "checks": {' in result.stdout, result.output
    assert '"database": "ok"' in result.stdout and '"broker": "ok"' in result.stdout


@pytest.mark.docker
def test_stack_recipes(stack_shell):
    result = stack_shell.run("stack.sh")
    assert "[X] 0001_initial" in result.stdout, result.output
    assert "healthy" in result.stdout


@pytest.mark.docker
def test_worker_commands(stack_shell):
    result = stack_shell.run("worker-enqueue.sh")
    assert "processed by the worker: 8 words" in result.stdout, result.output
    with stack_shell.background("logs.sh") as (proc, log):
        wait_for(
            lambda: "web-pg" in log.read_text() and "worker-pg" in log.read_text(),
            120,
            "just logs pg",
            proc,
            log,
        )
    stopped = stack_shell.run("worker-stop.sh")
    assert "Exited (0)" in stopped.stdout, stopped.output


@pytest.mark.docker
def test_restore_drill(stack_shell):
    drill = stack_shell.run("restore-drill.sh")
    assert "restored: 1" in drill.stdout, drill.output
    assert "web.sh: restored /data/db.sqlite3 from file:///replica/db" in drill.stdout, drill.output
    assert ".ltx" in drill.stdout or "0000000000000001" in drill.stdout, drill.output
    check = stack_shell.run("restore-check.sh")
    assert "entries in the restored copy: 1" in check.stdout, check.output
    assert "integrity check passed" in check.output, check.output


def dap_initialize(port: int) -> dict:
    """The first request a debugger sends; debugpy answers it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        body = json.dumps(
            {
                "seq": 1,
                "type": "request",
                "command": "initialize",
                "arguments": {"adapterID": "docs-test"},
            }
        ).encode()
        sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        buffer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError("debugpy closed the connection")
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                length = int(head.split(b":")[1])
                if len(rest) < length:
                    break
                message, buffer = json.loads(rest[:length]), rest[length:]
                if message.get("command") == "initialize":
                    return message


@pytest.mark.docker
def test_debug_commands(stack_shell):
    """`just debug sq` with DEBUG_PORT set to a free port (5678 is the default the page and
    .vscode/launch.json use): runserver answers, debugpy answers a debugger's first request."""
    try:
        with stack_shell.background("debug.sh") as (proc, log):
            url = f"http://127.0.0.1:{stack_shell.web_port}/health/"
            wait_for(lambda: http_status(url) == 200, 900, "just debug sq: /health/", proc, log)
            assert dap_initialize(stack_shell.debug_port)["success"] is True
            assert "development server" in log.read_text().lower(), "runserver, not gunicorn"
    finally:
        stack_shell.run("debug-stop.sh")


@pytest.mark.docker
def test_by_hand_commands(stack_shell):
    stack_shell.run("by-hand-build.sh")
    try:
        result = stack_shell.run("by-hand-run-sq.sh")
        assert '"status": "ok"' in result.stdout, result.output
        worker = run(
            ["docker", "inspect", "--format", "{{.State.Running}}",
             f"{COMPOSE_PROJECT}-by-hand-worker"]
        )  # fmt: skip
        assert worker.stdout.strip() == "true", worker.output
    finally:
        stack_shell.run("by-hand-clean.sh")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
