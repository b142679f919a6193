"""The manual builds and its generated parts are right: `mkdocs build --strict` (links,
anchors, every page in the nav), the parts docs/hooks.py generates expanded, and compared
with independent sources: the diagrams with `docker compose config`, the answer table with
harness.expected, the annotated file listings with the rendered files."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from harness import ROOT
from harness.baseimages import compose_config
from harness.combinations import Combination
from harness.commands import run, tool
from harness.expected import expected_files
from harness.snippets import DOCS, directives, hooks, pages


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
    for name in hooks().questions():
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
        for line in hooks().expand(text, page).splitlines():
            heading = re.match(r"^#{1,6} (.+?)(?: \{ #([\w-]+) \})?$", line)
            if heading:
                ids.add(heading.group(2) or slugify(heading.group(1).replace("`", ""), "-"))
        anchors[page] = ids
    for page, text in pages().items():
        for target, anchor in re.findall(
            r"\]\(([\w-]*\.md)?#([\w-]+)\)", hooks().expand(text, page)
        ):
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


def diagram_id(spec: dict) -> str:
    answers = [f"{k}={v}" for k, v in (spec.get("answers") or {}).items() if k != "project_name"]
    return "-".join(
        [spec["page"][:-3], spec["profile"], *answers] + (["debug"] if spec.get("debug") else [])
    )


@pytest.mark.parametrize("spec", directives("compose-diagram"), ids=diagram_id)
def test_diagram_agrees_with_docker_compose_config(spec, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(hooks().render(spec.get("answers") or {}), project)
    (project / ".env").write_text("POSTGRES_PASSWORD=x\n")
    files = ["compose.yaml"] + (["compose.debug.yaml"] if spec.get("debug") else [])
    config = compose_config(project, spec["profile"], tuple(files))
    model = hooks().compose_model(project, spec["profile"], bool(spec.get("debug")))
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
    mermaid = hooks().compose_diagram(
        spec.get("answers") or {}, spec["profile"], bool(spec.get("debug"))
    )
    for name in model["services"]:
        assert f"<b>{name}</b>" in mermaid
    for volume in model["volumes"]:
        assert f'[("{volume}")]' in mermaid


def test_answer_table_agrees_with_the_render_tests_expected_files():
    """The table comes from diffing renders; the render tests state per combination which
    files must exist. Where they speak of the same file, they must agree."""
    defaults = hooks().default_answers()
    choice_names = [n for n, s in hooks().questions().items() if hooks().choices(s)]

    def combination(data: dict) -> Combination:
        spec_defaults = {n: s.get("default") for n, s in hooks().questions().items()}
        full = {**spec_defaults, **defaults, **data}
        asked = {}
        for name in choice_names:
            if hooks().asked(hooks().questions()[name], full):
                asked[name] = full[name]
        return Combination(tuple(asked.items()))

    def wanted(data: dict) -> set[str]:
        files = expected_files(combination(data), "SLUG")
        return {p.replace("src/SLUG/", "src/<project_slug>/") for p, on in files.items() if on}

    known = {
        p.replace("src/SLUG/", "src/<project_slug>/")
        for p in expected_files(combination({}), "SLUG")
    }
    rows = [r for r in hooks().answer_rows() if r["question"] in choice_names]
    assert rows
    for row in rows:
        before = wanted({**row["context"], row["question"]: row["default"]})
        after = wanted({**row["context"], row["question"]: row["value"]})
        label = f"{row['question']}={row['value']}"
        assert sorted(after - before) == sorted(set(row["added"]) & known), label
        assert sorted(before - after) == sorted(set(row["removed"]) & known), label


def test_rendered_file_blocks_and_annotations_expand():
    for spec in directives("rendered-file"):
        block, count = hooks().rendered_file(spec)
        markers = {int(m) for m in re.findall(r"\((\d+)\)!?$", block, re.MULTILINE)}
        assert set(range(1, count + 1)) <= markers, spec["path"]
