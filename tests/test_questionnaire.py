"""The questionnaire: defaults work, names are derived well, bad answers are refused with a
message naming the question, and a refused copy writes nothing."""

from __future__ import annotations

import contextlib
import io
import keyword
import sys
import traceback
from dataclasses import dataclass

import pytest
import yaml

from harness.combinations import config, questions


@dataclass
class Copied:
    returncode: int
    stderr: str

    @property
    def output(self) -> str:
        return self.stderr


def copier_copy(template, dest, **data) -> Copied:
    """`copier copy --defaults --quiet --data ... TEMPLATE DEST`: copier's own command line,
    run in this process (the same code as the `copier` command, without its start-up)."""
    from copier._cli import CopierApp

    args = [arg for key, value in data.items() for arg in ("--data", f"{key}={value}")]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            _, status = CopierApp.run(
                ["copier", "copy", "--defaults", "--quiet", *args, str(template), str(dest)],
                exit=False,
            )
        except Exception as exc:  # noqa: BLE001 (the interpreter prints any; exit 1)
            print("".join(traceback.format_exception_only(exc)), file=sys.stderr)
            status = 1
    return Copied(status, stderr.getvalue())


def test_every_question_has_help_and_a_default():
    for name, spec in questions().items():
        assert spec.get("help"), f"{name} has no help text"
        assert "default" in spec, f"{name} has no default"


def test_defaults_alone_render_a_project(template_snapshot, tmp_path):
    result = copier_copy(template_snapshot, tmp_path / "p")
    assert result.returncode == 0, result.output
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "my_django_project"
    assert answers["database"] == "postgres"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Ledger", "cafe_ledger"),
        ("Ünïcødé Straße Łódź", "unicode_strasse_lodz"),
        ("日本語のアプリ", "project"),
        ("42 Things", "project_42_things"),
        ("O'Brien's -- Notes!", "o_brien_s_notes"),
    ],
)
def test_slug_is_derived_from_any_name(template_snapshot, tmp_path, name, slug):
    result = copier_copy(template_snapshot, tmp_path / "p", project_name=name)
    assert result.returncode == 0, result.output
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == slug
    assert answers["project_name"] == name
    assert (tmp_path / "p" / "src" / slug / "models.py").exists()


BAD_ANSWERS = [
    ({"project_name": " "}, "project_name"),
    ({"project_name": 'The "Best" App'}, "project_name"),
    ({"project_slug": "My-App"}, "project_slug"),
    ({"project_slug": "9lives"}, "project_slug"),
    ({"project_slug": "café"}, "project_slug"),
    ({"project_slug": "class"}, "project_slug"),
    ({"project_slug": "django"}, "project_slug"),
    ({"project_slug": "test"}, "project_slug"),
    ({"project_slug": "config"}, "project_slug"),
    ({"project_slug": "accounts"}, "project_slug"),
    ({"project_slug": "email"}, "project_slug"),
    ({"description": "back\\slash"}, "description"),
    ({"author_name": ""}, "author_name"),
    ({"author_email": "nobody"}, "author_email"),
    ({"author_email": "a@b"}, "author_email"),
    ({"author_email": "a b@example.com"}, "author_email"),
    ({"domain": "https://example.com"}, "domain"),
    ({"domain": "example.com:8000"}, "domain"),
    ({"domain": "Example.com"}, "domain"),
    ({"domain": "-bad-.example.com"}, "domain"),
    ({"domain": "other-app.fly.dev"}, "domain"),
    ({"fly": "false", "domain": "thing.fly.dev"}, "domain"),
    ({"python_version": "3.11"}, "python_version"),
    ({"database": "mysql"}, "database"),
    ({"worker": "celery"}, "worker"),
    ({"worker_broker": "rabbitmq"}, "worker_broker"),
    ({"fly_app": "Bad_App"}, "fly_app"),
    ({"fly_app": "ab"}, "fly_app"),
    ({"fly_app": "double--dash"}, "fly_app"),
    ({"fly_region": "amsterdam"}, "fly_region"),
    ({"secrets": "vault"}, "secrets"),
]


@pytest.mark.parametrize(("data", "question"), BAD_ANSWERS, ids=lambda v: str(v))
def test_bad_answer_is_refused_naming_the_question_and_writes_nothing(
    template_snapshot, tmp_path, data, question
):
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    for dest in (existing, tmp_path / "new"):
        result = copier_copy(template_snapshot, dest, **data)
        assert result.returncode != 0, result.output
        last = result.stderr.strip().splitlines()[-1]
        assert f"'{question}'" in last, result.output
    assert sorted(p.name for p in existing.iterdir()) == ["keep.txt"]
    assert (existing / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "new").exists()


def test_reserved_slugs_cover_the_standard_library_and_the_keywords():
    reserved = config()["reserved_slugs"]["default"]
    public = {name.lower() for name in sys.stdlib_module_names if not name.startswith("_")}
    assert public - set(reserved["a standard-library module"]) == set()
    assert {k.lower() for k in keyword.kwlist + keyword.softkwlist if k != "_"} <= set(
        reserved["a Python keyword"]
    )
