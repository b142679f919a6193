#!/usr/bin/env python3
"""Carry a project's recorded answers forward when the template renames a question or
retires a value. Copier runs it as a `before` migration in the project being updated, so the
update then sees the answers under their new names (see `_migrations` in copier.yml).

    answers.py rename OLD_QUESTION NEW_QUESTION
    answers.py value QUESTION OLD_VALUE NEW_VALUE

Standard library only: it runs under whatever python3 the user has. Copier writes the answers
file one `key: value` per line, which is all this edits.
"""

import re
import sys
from pathlib import Path

ANSWERS = Path(".copier-answers.yml")


def main(argv: list[str]) -> int:
    if not ANSWERS.is_file():
        print(f"answers.py: no {ANSWERS} in {Path.cwd()}", file=sys.stderr)
        return 1
    text = ANSWERS.read_text()
    match argv:
        case ["rename", old, new]:
            pattern, replacement = rf"(?m)^{re.escape(old)}:", f"{new}:"
        case ["value", question, old, new]:
            pattern = rf"(?m)^({re.escape(question)}: )['\"]?{re.escape(old)}['\"]?$"
            replacement = rf"\g<1>{new}"
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    updated, count = re.subn(pattern, replacement, text)
    if count:
        ANSWERS.write_text(updated)
        print(f"answers.py: {' '.join(argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
