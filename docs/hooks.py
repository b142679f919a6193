"""MkDocs hook: the parts of the manual that are derived from the template itself.

Pages hold directives that this hook replaces, at build time, with what the template renders
today, so the manual cannot drift from the product:

* `<!-- generated: questions -->`: the questionnaire, from copier.yml.
* `<!-- generated: answer-table -->`: for every answer, the files it adds, removes or
  changes, found by rendering the template with copier and comparing the trees.
* `<!-- generated: combinations -->`: how many answer combinations the tests render.
* `<!-- generated: test-inventory -->`: the template's test modules and tests, from tests/.
* a fenced block ```` ```rendered-file ```` (YAML inside: `path`, `answers`, optional
  `from` / `to` regexes for an excerpt, optional `annotate`: a list of regexes, one per
  code annotation, each matching exactly one line) becomes that file as copier renders it
  for those answers, with Material code-annotation markers `# (n)` on the matching lines.
* a fenced block ```` ```compose-diagram ```` (`answers`, `profile`, optional
  `debug: true`) becomes a mermaid diagram of that profile's services and volumes, read
  from the rendered compose.yaml (and compose.debug.yaml).
* a fenced block ```` ```just-list ```` (`answers`) becomes the output of `just --list`.

Renders come from the harness's render cache (keyed by copier's version, the template's
content and the answers), shared with the tests, so `mkdocs serve` stays quick.
Run `python docs/hooks.py table` (or `diagram`, `questions`) to print a part on its own.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

import yaml

from harness import ROOT
from harness.combinations import all_combinations as _combinations
from harness.combinations import asked, questions, values
from harness.commands import run, tool
from harness.renders import answers_of, render, snapshot

COPIER_YML = ROOT / "copier.yml"
TEMPLATE = ROOT / "template"
TESTS = ROOT / "tests"
SOURCE_URL = "gh:org/start-django"  # where the manual says the template lives

# A different, valid value for each free-text question, to show what that answer changes.
# A new free-text question without a sample here stops the build (see text_samples()).
TEXT_SAMPLES = {
    "project_name": "Harbour Logbook",
    "project_slug": "logbook",
    "description": "Another one-line description",
    "author_name": "Another Team",
    "author_email": "ops@example.org",
    "domain": "app.example.org",
    "fly_app": "harbour-logbook",
    "fly_region": "fra",
}

# Files every answer changes in content, so listing them says nothing.
ALWAYS_CHANGED = {".copier-answers.yml"}


class DocsError(Exception):
    """A directive that cannot be honoured: the build stops with this message."""


# --- the template and its renders: harness.renders (shared with the tests' cache) --------------


def tree(project: Path) -> dict[str, bytes]:
    """Relative path -> content, with the app folder written as `src/<project_slug>/`."""
    slug = answers_of(project)["project_slug"]
    files = {}
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        rel = path.relative_to(project).as_posix()
        if rel.startswith(f"src/{slug}/"):
            rel = "src/<project_slug>/" + rel[len(f"src/{slug}/") :]
        files[rel] = path.read_bytes()
    return files


# --- the questionnaire -----------------------------------------------------------------------


def choices(spec: dict) -> list | None:
    """The values of a choice or bool question, None for free text."""
    return values(spec) or None


def choice_labels(spec: dict) -> dict:
    raw = spec.get("choices")
    if isinstance(raw, dict):
        return {value: label for label, value in raw.items()}
    return {}


@cache
def default_answers() -> dict:
    """Every answer copier records for `copier copy --defaults` (Jinja defaults resolved)."""
    recorded = answers_of(render({}))
    return {k: v for k, v in recorded.items() if not k.startswith("_")}


def prerequisite(name: str) -> dict:
    """The smallest change to the defaults (one earlier choice) under which `name` is asked."""
    spec = questions()[name]
    base = default_answers()
    if asked(spec, base):
        return {}
    for other, other_spec in questions().items():
        if other == name:
            break
        for value in choices(other_spec) or []:
            if asked(spec, {**base, other: value}):
                return {other: value}
    raise DocsError(f"copier.yml: no single earlier answer makes {name!r} asked")


def all_combinations() -> list[dict]:
    """Every combination of choice and bool answers, as the template's tests enumerate them."""
    return [combo.data for combo in _combinations()]


def text_samples() -> dict[str, str]:
    missing = [n for n, s in questions().items() if choices(s) is None and n not in TEXT_SAMPLES]
    if missing:
        raise DocsError(
            f"free-text question(s) {missing} have no sample value in docs/hooks.py TEXT_SAMPLES"
        )
    return {n: TEXT_SAMPLES[n] for n, s in questions().items() if choices(s) is None}


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _code(text: str) -> str:
    return "`" + str(text).replace("|", "\\|") + "`"


def _cell_paths(paths: list[str]) -> str:
    return "<br>".join(_code(p) for p in paths) if paths else "–"


def questions_table() -> str:
    """Markdown table: question, values, default, when it is asked, help."""
    defaults = default_answers()
    rows = [
        "| Question | Values | Default | Asked | What it is |",
        "|---|---|---|---|---|",
    ]
    for name, spec in questions().items():
        options = choices(spec)
        if options is None:
            values = "text"
        else:
            values = ", ".join(_code(_fmt(v)) for v in options)
        raw_default = spec.get("default")
        default = _code(_fmt(defaults.get(name, raw_default)))
        if isinstance(raw_default, str) and "{{" in raw_default:
            default += " (derived)"
        when = spec.get("when", True)
        if when is True:
            asked_when = "always"
        else:
            asked_when = _code(str(when).replace("{{", "").replace("}}", "").strip())
        help_text = " ".join(str(spec.get("help", "")).split()).replace("|", "\\|")
        rows.append(
            f"| [{_code(name)}](#{name}) | {values} | {default} | {asked_when} | {help_text} |"
        )
    return "\n".join(rows)


def answer_rows() -> list[dict]:
    """One row per non-default answer: what it adds, removes and changes against the same
    answers with that question at its default."""
    rows = []
    for name, spec in questions().items():
        options = choices(spec)
        if options is None:
            pairs = [(default_answers()[name], text_samples()[name])]
            context: dict = {}
        else:
            default = spec.get("default")
            pairs = [(default, value) for value in options if value != default]
            context = prerequisite(name)
        for default, value in pairs:
            before = render({**context, name: default} if options else context)
            after = render({**context, name: value})
            a, b = tree(before), tree(after)
            slug_a, slug_b = answers_of(before)["project_slug"], answers_of(after)["project_slug"]
            rows.append(
                {
                    "question": name,
                    "value": value,
                    "default": default,
                    "context": context,
                    "added": sorted(set(b) - set(a)),
                    "removed": sorted(set(a) - set(b)),
                    "changed": sorted(
                        p for p in set(a) & set(b) if a[p] != b[p] and p not in ALWAYS_CHANGED
                    ),
                    "renamed": (slug_a, slug_b) if slug_a != slug_b else None,
                }
            )
    return rows


def answer_table() -> str:
    lines = [
        "| Answer | Files added | Files removed | Files changed |",
        "|---|---|---|---|",
    ]
    for row in answer_rows():
        label = f"{_code(row['question'] + '=' + _fmt(row['value']))}"
        label += f"<br><small>instead of {_code(_fmt(row['default']))}"
        if row["context"]:
            ctx = ", ".join(f"{k}={_fmt(v)}" for k, v in row["context"].items())
            label += f", with {_code(ctx)}"
        label += "</small>"
        changed = _cell_paths(row["changed"])
        if row["renamed"]:
            old, new = row["renamed"]
            changed = (
                f"app folder {_code('src/' + old)} becomes {_code('src/' + new)}<br>" + changed
            )
        lines.append(
            f"| {label} | {_cell_paths(row['added'])} | {_cell_paths(row['removed'])} | {changed} |"
        )
    return "\n".join(lines)


def combinations_summary() -> str:
    combos = all_combinations()
    names = [n for n, s in questions().items() if choices(s)]
    return (
        f"**{len(combos)}** combinations of the choice and yes/no questions "
        f"({', '.join(_code(n) for n in names)}), following each question's `when`; "
        "free-text questions keep their defaults."
    )


# --- the template's tests ---------------------------------------------------------------------


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def test_inventory() -> str:
    """Each test module of the template with its docstring and its tests."""
    out = []
    for module in sorted(TESTS.glob("test_*.py")):
        tree_ = ast.parse(module.read_text())
        out.append(f"`tests/{module.name}`")
        out.append(f": {_first_paragraph(ast.get_docstring(tree_)) or '(no module docstring)'}")
        tests = [
            node
            for node in tree_.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
        ]
        for cls in (n for n in tree_.body if isinstance(n, ast.ClassDef)):
            tests += [
                n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
            ]
        for node in tests:
            doc = _first_paragraph(ast.get_docstring(node))
            words = node.name.removeprefix("test_").replace("_", " ")
            out.append(f"    - {_code(node.name)}: {doc or words}")
        out.append("")
    return "\n".join(out)


# --- compose diagrams -------------------------------------------------------------------------


def _merge_service(base: dict, overlay: dict) -> dict:
    """Compose's merge of an override file into a service, for the keys the diagrams use."""
    merged = dict(base)
    for key, value in overlay.items():
        if key in {"volumes", "ports"}:
            items = list(base.get(key, []))
            if key == "volumes":
                targets = {_mount(v)[1] for v in value}
                items = [v for v in items if _mount(v)[1] not in targets]
            merged[key] = items + list(value)
        elif key in {"environment", "build"} and isinstance(value, dict):
            merged[key] = _deep_merge(base.get(key) or {}, value)
        else:
            merged[key] = value
    return merged


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = (
            _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def _mount(volume) -> tuple[str, str]:
    """(source, target) of a short or long volume entry."""
    if isinstance(volume, dict):
        return str(volume.get("source", "")), str(volume["target"])
    parts = str(volume).split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])


def compose_model(project: Path, profile: str, debug: bool = False) -> dict:
    """Services, named volumes, bind mounts, ports and dependencies of one profile, read from
    the rendered compose files (PyYAML resolves the anchors and `<<` merges)."""
    data = yaml.safe_load((project / "compose.yaml").read_text())
    services = {
        name: svc
        for name, svc in data["services"].items()
        if not svc.get("profiles") or profile in svc["profiles"]
    }
    if debug:
        overlay = yaml.safe_load((project / "compose.debug.yaml").read_text())
        for name, svc in overlay["services"].items():
            if name in services:
                services[name] = _merge_service(services[name], svc)
    model = {"name": data.get("name"), "services": {}, "volumes": set(), "binds": set()}
    for name, svc in services.items():
        build = svc.get("build") or {}
        command = svc.get("command")
        if command is None and build:
            command = ["scripts/" + str((build.get("args") or {}).get("run_cmd", "run.sh"))]
        mounts = []
        for volume in svc.get("volumes", []):
            source, target = _mount(volume)
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            mounts.append((kind, source, target))
            (model["binds"] if kind == "bind" else model["volumes"]).add(source)
        ports = []
        for port in svc.get("ports", []):
            text = re.sub(r"\$\{\w+:-(\d+)\}", r"\1", str(port))  # the default port
            host_ip, published, target = text.rsplit(":", 2)
            ports.append((host_ip, published, target))
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {d: {"condition": "service_started"} for d in depends}
        image = svc.get("image")
        if image:  # as compose interpolates it with the project's name
            image = image.replace("${COMPOSE_PROJECT_NAME}", str(data.get("name")))
        model["services"][name] = {
            "image": image,
            "build": build.get("dockerfile"),
            "build_args": dict(build.get("args") or {}),
            "command": " ".join(command) if isinstance(command, list) else command,
            "mounts": mounts,
            "ports": ports,
            "depends_on": {dep: cond.get("condition") for dep, cond in depends.items()},
            "healthcheck": bool(svc.get("healthcheck")) or bool(build),
        }
    return model


def _id(prefix: str, name: str) -> str:
    return prefix + re.sub(r"\W", "_", name)


def compose_diagram(answers: dict, profile: str, debug: bool = False) -> str:
    model = compose_model(render(answers), profile, debug)
    lines = ["flowchart LR"]
    lines.append('  host(["this machine<br>127.0.0.1"])')
    if model["binds"]:
        for source in sorted(model["binds"]):
            lines.append(f'  {_id("b_", source)}[/"folder {source}<br>on this machine"/]')
    title = f"compose project {model['name']} · profile {profile}" + (" · debug" if debug else "")
    lines.append(f'  subgraph stack["{title}"]')
    for name, svc in model["services"].items():
        label = [f"<b>{name}</b>"]
        if svc["build"]:
            label.append(f"built from {svc['build'].removeprefix('../')}")
        elif svc["image"]:
            label.append(f"image {svc['image']}")
        extra_args = {k: v for k, v in svc["build_args"].items() if k != "run_cmd"}
        label += [f"build arg {k}={v}" for k, v in sorted(extra_args.items())]
        if svc["command"]:
            label.append(svc["command"])
        if svc["healthcheck"]:
            label.append("healthcheck")
        shape = ('[("', '")]') if name in {"postgres", "redis"} else ('["', '"]')
        lines.append(f"    {_id('s_', name)}{shape[0]}{'<br>'.join(label)}{shape[1]}")
    lines.append("  end")
    if model["volumes"]:
        lines.append('  subgraph volumes["named volumes"]')
        for volume in sorted(model["volumes"]):
            lines.append(f'    {_id("v_", volume)}[("{volume}")]')
        lines.append("  end")
    for name, svc in model["services"].items():
        for host_ip, published, target in svc["ports"]:
            lines.append(f'  host -- "{host_ip}:{published} → {target}" --> {_id("s_", name)}')
        for dep, condition in svc["depends_on"].items():
            how = "waits until healthy" if condition == "service_healthy" else "starts after"
            lines.append(f'  {_id("s_", name)} -- "{how}" --> {_id("s_", dep)}')
        for kind, source, target in svc["mounts"]:
            if kind == "bind":
                lines.append(
                    f'  {_id("b_", source)} -. "bind mount {target}" .-> {_id("s_", name)}'
                )
            else:
                lines.append(f'  {_id("s_", name)} -. "{target}" .-> {_id("v_", source)}')
    return "\n".join(lines)


# --- rendered files ---------------------------------------------------------------------------

LANGUAGES = {
    "Dockerfile": "dockerfile",
    "justfile": "make",
    ".sh": "bash",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".json": "json",
    ".py": "python",
    ".example": "ini",
    ".op": "ini",
    ".dockerignore": "text",
}


def _language(path: str) -> str:
    name = Path(path).name
    if name in LANGUAGES:
        return LANGUAGES[name]
    for suffix, lang in LANGUAGES.items():
        if name.endswith(suffix):
            return lang
    return "text"


def rendered_file(spec: dict) -> tuple[str, int]:
    """A rendered file as a fenced block, and the number of annotations it carries."""
    answers = spec.get("answers") or {}
    rel = spec["path"]
    project = render(answers)
    slug = answers_of(project)["project_slug"]
    path = project / rel.replace("<project_slug>", slug)
    if not path.is_file():
        raise DocsError(f"rendered-file: {rel} does not exist for answers {answers}")
    # Renders come from a local snapshot of the template; readers copy from its git URL.
    lines = path.read_text().replace(str(snapshot()), SOURCE_URL).splitlines()
    first = 0
    if spec.get("from"):
        first = _find(lines, spec["from"], rel)
    last = len(lines) - 1
    if spec.get("to"):
        last = first + _find(lines[first:], spec["to"], rel)
    shown = lines[first : last + 1]
    lang = spec.get("lang") or _language(rel)
    annotations = spec.get("annotate") or []
    if annotations and lang in {"json", "text"}:
        raise DocsError(f"rendered-file: {rel} ({lang}) cannot carry code annotations")
    for number, pattern in enumerate(annotations, start=1):
        index = _find(shown, pattern, rel, unique=True)
        if lang == "dockerfile" and not shown[index].lstrip().startswith("#"):
            # Dockerfiles have no trailing comments: "# (1)" after an instruction would be
            # part of it (and Material would not see a comment). Annotate a comment line.
            raise DocsError(
                f"rendered-file: {rel}: annotation {number} ({pattern!r}) must match a comment "
                "line in a Dockerfile"
            )
        if shown[index].rstrip().endswith("\\"):
            raise DocsError(
                f"rendered-file: {rel}: annotation {number} ({pattern!r}) would follow a line "
                "continuation; annotate another line"
            )
        # In a trailing comment of its own, "!" lets Material hide the comment sign too.
        marker = f" ({number})" if lang == "dockerfile" else f"  # ({number})!"
        shown[index] = f"{shown[index]}{marker}"
    where = ", ".join(f"{k}={_fmt(v)}" for k, v in answers.items()) or "defaults"
    title = spec.get("title") or f"{rel} ({where})"
    if first or last < len(lines) - 1:
        title += f", lines {first + 1}–{last + 1}"
    body = "\n".join(shown)
    fence = f'```{lang} title="{title}" linenums="{first + 1}"\n{body}\n```'
    return fence, len(annotations)


def _find(lines: list[str], pattern: str, rel: str, unique: bool = False) -> int:
    regex = re.compile(pattern)
    hits = [i for i, line in enumerate(lines) if regex.search(line)]
    if not hits:
        raise DocsError(f"rendered-file: {rel}: no line matches {pattern!r}")
    if unique and len(hits) > 1:
        raise DocsError(f"rendered-file: {rel}: {len(hits)} lines match {pattern!r}; be precise")
    return hits[0]


def just_list(answers: dict) -> str:
    project = render(answers)
    result = run([tool("just"), "--list", "--unsorted"], cwd=project)
    if result.returncode:
        raise DocsError(f"just --list failed: {result.stderr}")
    where = ", ".join(f"{k}={_fmt(v)}" for k, v in answers.items()) or "defaults"
    return f'```text title="just --list ({where})"\n{result.stdout.rstrip()}\n```'


# --- the MkDocs hook ----------------------------------------------------------------------------

MARKERS = {
    "questions": questions_table,
    "answer-table": answer_table,
    "combinations": combinations_summary,
    "test-inventory": test_inventory,
}
MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- generated: (?P<name>[\w-]+) -->[ \t]*$", re.MULTILINE)
BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<kind>rendered-file|compose-diagram|just-list)[ \t]*\n"
    r"(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(\d+)\.\s")


def _indent(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in text.splitlines())


def _annotation_count_after(markdown: str, position: int, indent: str) -> int:
    """How many items the ordered list right after a block has (its code annotations)."""
    count = 0
    for line in markdown[position:].lstrip("\n").splitlines():
        if not line.strip():
            continue
        match = LIST_ITEM.match(line)
        if match and match.group("indent") == indent:
            count += 1
        elif count and len(line) - len(line.lstrip()) > len(indent):
            continue  # the continuation of an item
        else:
            break
    return count


def expand(markdown: str, page: str = "?") -> str:
    """Replace every directive in a page's markdown."""

    def marker(match: re.Match) -> str:
        name = match.group("name")
        if name not in MARKERS:
            raise DocsError(f"{page}: unknown generated block {name!r}")
        return _indent(MARKERS[name](), match.group("indent"))

    out = []
    position = 0
    for match in BLOCK.finditer(markdown):
        indent = match.group("indent")
        body = "\n".join(line[len(indent) :] for line in match.group("body").splitlines())
        spec = yaml.safe_load(body) or {}
        kind = match.group("kind")
        if kind == "rendered-file":
            block, wanted = rendered_file(spec)
            found = _annotation_count_after(markdown, match.end(), indent)
            if wanted != found:
                raise DocsError(
                    f"{page}: {spec['path']}: {wanted} annotation pattern(s) but {found} "
                    "list item(s) after the block"
                )
        elif kind == "compose-diagram":
            block = (
                "```mermaid\n"
                + compose_diagram(
                    spec.get("answers") or {}, spec["profile"], bool(spec.get("debug"))
                )
                + "\n```"
            )
        else:
            block = just_list(spec.get("answers") or {})
        out.append(markdown[position : match.start()])
        out.append(_indent(block, indent))
        position = match.end()
    out.append(markdown[position:])
    return MARKER.sub(marker, "".join(out))


def on_page_markdown(markdown: str, page, config, files) -> str:
    try:
        return expand(markdown, page.file.src_uri)
    except DocsError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(str(exc)) from exc


# --- command line -------------------------------------------------------------------------------

if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "table"
    if what == "table":
        print(answer_table())
    elif what == "questions":
        print(questions_table())
    elif what == "combinations":
        print(combinations_summary())
    elif what == "tests":
        print(test_inventory())
    elif what == "diagram":
        profile = sys.argv[2] if len(sys.argv) > 2 else "pg"
        data = dict(arg.split("=", 1) for arg in sys.argv[3:])
        print(compose_diagram(data, profile))
    else:
        sys.exit(
            f"usage: {sys.argv[0]} table|questions|combinations|tests|diagram [pg|sq] [k=v ...]"
        )
