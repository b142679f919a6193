"""Every combination of answers, derived from copier.yml itself.

A question with `choices` contributes each choice, a `bool` question True and False. A
question is left out of a combination when its `when` is false for the answers before it,
and questions with `when: false` (derived values) are never asked. A new question or choice
is therefore picked up without editing any test.

Free text never branches the template, so the matrix holds each free-text answer at one
value: its default, except where that default follows a choice (`domain` follows `fly`),
which would let the choice change bytes it does not decide; those are pinned (PINNED_TEXT).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import jinja2

from harness import ROOT

COPIER_YML = ROOT / "copier.yml"


@cache
def config() -> dict:
    """copier.yml as copier reads it (its `!include`s and documents merged)."""
    from copier._template import load_template_config  # copier's own reader: no public one

    return load_template_config(COPIER_YML)


@cache
def _specs() -> dict[str, dict]:
    return {n: s for n, s in config().items() if not n.startswith("_") and isinstance(s, dict)}


@cache
def questions() -> dict[str, dict]:
    """The questions copier asks (derived values, `when: false`, left out)."""
    return {name: spec for name, spec in _specs().items() if spec.get("when") is not False}


def values(spec: dict) -> list:
    """The values a question can take in the matrix."""
    choices = spec.get("choices")
    if isinstance(choices, dict):
        return list(choices.values())
    if isinstance(choices, list):
        return list(choices)
    if spec.get("type") == "bool":
        return [True, False]
    return []  # free text: held at one value (see PINNED_TEXT)


# Free-text answers whose default follows a choice, and the one value the matrix gives them
# (valid with every choice). tests/test_render.py checks this is exactly those questions.
PINNED_TEXT = {"domain": "app.example.com"}

_jinja = jinja2.Environment()


def asked(spec: dict, answers: dict) -> bool:
    when = spec.get("when", True)
    if isinstance(when, bool):
        return when
    rendered = _jinja.from_string(str(when)).render(**answers).strip()
    return rendered.lower() not in {"", "false", "0", "no", "none"}


@dataclass(frozen=True)
class Combination:
    answers: tuple[tuple[str, object], ...]

    @property
    def data(self) -> dict:
        return dict(self.answers)

    @property
    def render_data(self) -> dict:
        """What the matrix renders: the choices and the pinned free text."""
        return {**PINNED_TEXT, **self.data}

    @property
    def id(self) -> str:
        """e.g. python_version_3.13-database_both-litestream-worker_huey-no_fly: usable in -k."""
        parts = []
        for name, value in self.answers:
            if isinstance(value, bool):
                parts.append(name if value else f"no_{name}")
            else:
                parts.append(f"{name}_{value}")
        return "-".join(parts)

    def get(self, name: str, default=None):
        return self.data.get(name, default)

    @property
    def derived(self) -> dict[str, bool]:
        """copier.yml's derived values (`use_postgres`, ...) for these answers, evaluated from
        their own expressions there: the rules are written once, in copier.yml."""
        return derived_values(self.answers)

    def __getattr__(self, name: str):
        """combo.use_postgres, combo.use_redis, ...: the derived values, by their names."""
        if name.startswith("use_"):
            return self.derived[name]
        raise AttributeError(name)

    @property
    def profiles(self) -> list[str]:
        return [p for p, on in (("pg", self.use_postgres), ("sq", self.use_sqlite)) if on]


@cache
def derived_values(answers: tuple[tuple[str, object], ...]) -> dict[str, bool]:
    """Each derived `use_*` value of copier.yml (`when: false`, type bool), rendered with the
    answers (and the defaults of questions not asked, as copier would see them)."""
    context = {name: spec.get("default") for name, spec in questions().items()}
    context.update(answers)
    values = {}
    for name, spec in _specs().items():
        if spec.get("when") is not False or spec.get("type") != "bool":
            continue
        rendered = _jinja.from_string(str(spec["default"])).render(**context).strip()
        values[name] = rendered.lower() in {"true", "1", "yes"}
    return values


@cache
def all_combinations() -> list[Combination]:
    combos: list[dict] = [{}]
    for name, spec in questions().items():
        options = values(spec)
        if not options:
            continue
        grown = []
        for answers in combos:
            if asked(spec, answers):
                grown.extend({**answers, name: value} for value in options)
            else:
                grown.append(answers)
        combos = grown
    return [Combination(tuple(c.items())) for c in combos]


@cache
def spread() -> list[Combination]:
    """A few combinations that together give every question every one of its values (and
    that hold the default combination): what `scripts/test --quick` renders and lints. Greedy:
    each next one covers the most (question, value) pairs not yet covered, then keeps the most
    answers at their defaults."""
    defaults = {name: spec.get("default") for name, spec in questions().items()}
    wanted = {(name, repr(v)) for c in all_combinations() for name, v in c.answers}
    chosen = [one()]
    covered = {(name, repr(v)) for name, v in chosen[0].answers}
    while covered != wanted:
        best = max(
            all_combinations(),
            key=lambda c: (
                len({(n, repr(v)) for n, v in c.answers} - covered),
                sum(c.get(k) == defaults[k] for k in c.data),
            ),
        )
        chosen.append(best)
        covered |= {(name, repr(v)) for name, v in best.answers}
    return chosen


def one(**wanted) -> Combination:
    """The combination with these answers that keeps the most other answers at their defaults."""
    defaults = {name: spec.get("default") for name, spec in questions().items()}
    matching = [c for c in all_combinations() if all(c.get(k) == v for k, v in wanted.items())]
    if not matching:
        raise LookupError(f"no combination has {wanted}")
    return max(matching, key=lambda c: sum(c.get(k) == defaults[k] for k in c.data))


if __name__ == "__main__":
    combos = all_combinations()
    print(len(combos), "combinations")
    for combo in itertools.islice(combos, 5):
        print(combo.id)
