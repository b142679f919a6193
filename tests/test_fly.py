"""fly.toml, for every combination that deploys to Fly.io: valid TOML whose keys are all
ones Fly accepts (tests/schemas/fly.schema.json), and in agreement with the rest of the
project: Dockerfile, build argument, port, process commands, volume and migrations."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from harness.combinations import all_combinations

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "fly.schema.json").read_text())
FLY = [c for c in all_combinations() if c.get("fly")]


@pytest.fixture(params=FLY, ids=[c.id for c in FLY])
def deployed(request, render):
    combo = request.param
    project = render(combo)
    return combo, project, tomllib.loads((project / "fly.toml").read_text())


def test_keys_are_ones_fly_accepts(deployed):
    _, _, config = deployed
    jsonschema.validate(config, SCHEMA)


def test_app_and_region_are_the_answers(deployed):
    _, project, config = deployed
    answers = (project / ".copier-answers.yml").read_text()
    assert f"fly_app: {config['app']}" in answers
    assert f"fly_region: {config['primary_region']}" in answers


def test_dockerfile_and_build_argument_exist(deployed):
    combo, project, config = deployed
    dockerfile = project / config["build"]["dockerfile"]  # relative to fly.toml's folder
    assert dockerfile.is_file()
    assert dockerfile.parent.name == ("pg" if combo.use_postgres else "sq")
    declared = set(re.findall(r"^ARG (\w+)", dockerfile.read_text(), re.MULTILINE))
    for name in config["build"]["args"]:
        assert name in declared, f"{name} is not an ARG of {dockerfile}"
    script = project / "src" / "scripts" / config["build"]["args"]["run_cmd"]
    assert script.name == "web.sh" and script.stat().st_mode & 0o111


def test_the_port_web_sh_binds_is_the_service_port(deployed):
    _, project, config = deployed
    assert "--config config/gunicorn.py" in (project / "src" / "scripts" / "web.sh").read_text()
    gunicorn = (project / "src" / "config" / "gunicorn.py").read_text()
    assert "bind = f\"0.0.0.0:{os.environ['PORT']}\"" in gunicorn
    assert config["env"]["PORT"] == str(config["http_service"]["internal_port"])


def test_flys_checks_ask_liveness_only(deployed):
    """Fly's checks decide routing and gate deploys: /alive/, which touches no dependency."""
    _, _, config = deployed
    checks = config["http_service"]["checks"]
    assert checks and all(check["path"] == "/alive/" for check in checks)


def test_process_commands_exist_and_are_executable(deployed):
    combo, project, config = deployed
    for command in config.get("processes", {}).values():
        script = project / "src" / command.split()[0]
        assert script.is_file() and script.stat().st_mode & 0o111, command
    if combo.use_huey:
        separate = "worker" in config.get("processes", {})
        beside = config["env"].get("WORKER_BESIDE_WEB") == "true"
        assert separate != beside, "the worker runs either in its own group or beside web"


def test_sqlite_lives_on_the_mounted_volume_and_the_worker_beside_it(deployed):
    combo, _, config = deployed
    paths = [
        config["env"][name].removeprefix("sqlite:///")
        for name in ("DATABASE_URL", "HUEY_SQLITE_PATH")
        if name in config["env"]
    ]
    mounts = [m["destination"] for m in config.get("mounts", [])]
    for path in paths:
        assert any(path.startswith(dest + "/") for dest in mounts), f"{path} not on a volume"
    if paths and combo.use_huey:
        assert "processes" not in config, "a worker group could not open the volume"
        assert config["env"]["WORKER_BESIDE_WEB"] == "true"


def test_uploads_live_on_the_served_groups_volume(deployed):
    """A Machine's own disk is new at every deploy: MEDIA_ROOT is on a volume of every group
    that serves the app."""
    _, _, config = deployed
    media = config["env"]["MEDIA_ROOT"]
    served = config["http_service"].get("processes") or list(config.get("processes") or ["app"])
    for group in served:
        volumes = [
            m["destination"]
            for m in config.get("mounts", [])
            if group in m.get("processes", [group])
        ]
        assert any(media.startswith(dest + "/") for dest in volumes), f"{group}: {media}"


def test_release_command_migrates_only_postgres(deployed):
    combo, _, config = deployed
    release = config.get("deploy", {}).get("release_command")
    if combo.use_postgres:
        assert release == "python manage.py migrate --noinput"
        assert "DATABASE_URL" not in config["env"], "PostgreSQL's URL is a secret"
    else:
        assert release is None, "release machines have no volume: sqlite migrates in web.sh"
