"""The proof levels: what each one counts (its members, enumerated from copier.yml and the
renders, never from the tests that ran) and the tests each member needs.

A member counts at a level when every test the level needs for it passed for it, every
phase. A test that proves a level says so with `@pytest.mark.proof(level)` and must be one
the level names here (harness/pytest_plugin.py refuses any other); a test is run for exactly
the members its level needs it for. So a run that leaves a needed test out (`-k`, a
deselect, a shard, an `applies_to` that wrongly says no) shows a shortfall, and the proof line
cannot reach N/N without the work.

`scripts/test --quick` (START_DJANGO_QUICK=1) counts a smaller set: the combinations of
`combinations.spread()` and the one stack class of the default answers.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from functools import cache

QUICK = os.environ.get("START_DJANGO_QUICK") == "1"

Applies = Callable[[object], bool] | None  # which members need a test (None: every one)


def _combinations() -> list:
    from harness.combinations import all_combinations, spread

    return spread() if QUICK else all_combinations()


def _runtimes(kind: int) -> list:
    """The images (0), stack classes (1) or Fly apps (2); in a quick run, the image and stack
    class of the default answers (derived from them and their 1Password twin, which tells
    which variables are secrets), and no Fly app."""
    from harness import runtimes
    from harness.combinations import one

    if not QUICK:
        return runtimes.derive()[kind]
    default = one()
    classes = runtimes.derive((default, one(secrets="1password")))[1]
    chosen = [c for c in classes if default in c.combos and c.profile == "pg"][:1]
    return [[c.image for c in chosen], chosen, []][kind]


def _uses_redis(cls) -> bool:
    return cls.representative.use_redis


def _upgrades() -> list:
    """Every combination, as each supported release made it."""
    from harness.upgrades import upgrades

    return [] if QUICK else upgrades(_combinations())


def _live_upgrades() -> list:
    """Every data runtime (compose and Fly), as each supported release made it."""
    from harness.runtimes import data_runtimes
    from harness.upgrades import live_upgrades

    return [] if QUICK else live_upgrades(data_runtimes(fly=True))


def _keeps_uploads(member) -> bool:
    from harness.upgrades import keeps_uploads

    return keeps_uploads(member)


@dataclasses.dataclass(frozen=True)
class Level:
    name: str
    enumerate: Callable[[], list]
    needs: dict[str, Applies]  # "module.py::test_name" -> which members need it
    of: str | None = None  # the parametrized object's attribute that is the member

    def members(self) -> list:
        return _members(self.name)

    def needed(self, member) -> list[str]:
        return [test for test, applies in self.needs.items() if applies is None or applies(member)]


def _all(module: str, *tests: str) -> dict[str, Applies]:
    return {f"{module}::{test}": None for test in tests}


LEVELS = (
    Level("rendered", _combinations, _all(
        "test_render.py",
        "test_no_template_syntax_is_left",
        "test_wanted_files_exist_and_unwanted_are_absent",
        "test_answers_file_records_every_answer",
        "test_uv_in_the_project_and_in_src_uses_the_python_asked_for",
        "test_scripts_are_executable",
        "test_readme_lists_every_environment_variable_the_settings_read",
        "test_readme_hands_over_in_order_and_names_the_template_it_came_from",
    )),
    Level("linted", _combinations, {
        **_all(
            "test_render.py",
            "test_python_passes_ruff_check_and_format",
            "test_shell_scripts_pass_shellcheck",
            "test_dockerfiles_pass_hadolint",
            "test_compose_config_is_valid_for_each_profile",
            "test_healthchecks_probe_every_second_while_starting_unless_the_engine_predates_it",
            "test_justfile_parses_and_explains_every_recipe",
            "test_django_check_and_migrations_are_clean",
            "test_the_gunicorn_floor_knows_every_setting_of_the_config",
            "test_the_swarm_stack_is_valid_and_runs_sqlite_as_one_replica",
        ),
        **_all("test_team_workflow.py", "test_workflows_pass_actionlint_and_zizmor"),
    }),
    Level("upgraded", _upgrades, _all(
        "test_update.py",
        "test_a_project_from_a_supported_release_updates_to_exactly_a_fresh_render",
    )),
    Level("upgraded live", _live_upgrades, {
        **_all(
            "test_upgrade_live.py",
            "test_every_row_written_before_the_update_is_there",
            "test_the_superuser_signs_in_with_the_same_password",
        ),
        "test_upgrade_live.py::test_the_upload_is_served_to_staff": _keeps_uploads,
        "test_upgrade_live.py::test_the_task_queued_before_the_update_is_processed_once":
            lambda m: m.runtime.broker != "none",
        "test_upgrade_live.py::test_litestream_still_replicates_a_row_written_after_the_update":
            lambda m: m.runtime.litestream,
    }),
    Level("images built", lambda: _runtimes(0), _all(
        "test_containers.py",
        "test_image_runs_unprivileged_on_the_python_asked_for",
        "test_image_has_sqlite_and_litestream_exactly_as_asked",
        "test_image_final_stage_holds_no_build_tools_apt_lists_or_caches",
        "test_image_has_a_healthcheck_and_starts_run_sh",
        "test_image_layers_hold_no_env_file_database_or_decoy",
    ), of="image"),
    Level("images booted", lambda: _runtimes(0), _all(
        "test_containers.py", "test_stack_is_healthy_on_its_images_python",
    ), of="image"),
    Level("stacks started", lambda: _runtimes(1), {
        **_all(
            "test_containers.py",
            "test_stack_is_healthy_on_its_images_python",
            "test_stack_serves_the_entry_list_and_processes_an_entry",
            "test_stack_answers_bad_requests_with_their_status_and_page",
            "test_stack_answers_a_bug_with_the_500_page_and_one_log_line",
            "test_stack_logs_the_proxied_client_and_sends_csp_and_hsts_but_not_health_checks",
            "test_stack_processes_run_unprivileged",
            "test_stack_stops_cleanly",
        ),
        "test_containers.py::test_stack_stays_live_while_redis_is_down": _uses_redis,
    }),
    Level("fly apps run", lambda: _runtimes(2), _all(
        "test_fly_image.py",
        "test_fly_image_runs_the_build_argument_script",
        "test_migrations_run_once_per_deploy",
        "test_flys_check_and_health_answer_200_with_flys_environment",
        "test_every_process_runs_its_command",
        "test_an_entry_posted_through_flys_proxy_is_processed",
        "test_an_upload_is_written_to_a_volume_a_deploy_keeps",
        "test_stop_with_kill_signal_exits_0_within_kill_timeout",
    )),
)  # fmt: skip
BY_NAME = {level.name: level for level in LEVELS}


def level(name: str) -> Level:
    assert name in BY_NAME, f"unknown proof level {name!r}"
    return BY_NAME[name]


@cache
def _members(name: str) -> list:
    return list(level(name).enumerate())


def members(name: str) -> list:
    """The members of a level in this run: what its tests are parametrized with."""
    return _members(name)


def counted() -> list[Level]:
    """The levels this run reports: every level, or in a quick run those it has members for."""
    return [lv for lv in LEVELS if not QUICK or lv.members()]
