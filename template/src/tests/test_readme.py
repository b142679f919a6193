"""The README's table of environment variables is generated from the settings: every variable
config/settings.py and config/gunicorn.py read, with its default and whether production
requires it. A variable added or dropped without its row fails here; the message holds the
table to paste (`python tests/test_readme.py` prints it too)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
SOURCES = ("config/settings.py", "config/gunicorn.py")
README = SRC.parent / "README.md"
BEGIN = "<!-- environment table: src/tests/test_readme.py -->"
END = "<!-- end of the environment table -->"
# The settings' own readers: name, then the default (env_required: none, production needs it).
READERS = {
    "env_bool": "default",
    "env_list": "empty",
    "env_secret": "empty",
    "env_required": "required",
}


def _name(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _environ_get(node: ast.expr) -> bool:
    """`os.environ.get(NAME, ...)`."""
    return (
        isinstance(node, ast.Call)
        and bool(node.args)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "environ"
    )


def _first_read(node: ast.expr) -> bool:
    """`os.environ.get(NAME)` or `env_secret(NAME)`: what `... or DEFAULT` may follow."""
    return _environ_get(node) or (
        isinstance(node, ast.Call)
        and bool(node.args)
        and getattr(node.func, "id", "") == "env_secret"
    )


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _show(node: ast.expr | None, source: str) -> str:
    """A default as the source writes it (a constant as its value)."""
    if node is None:
        return "(none)"
    if isinstance(node, ast.Constant):
        return f"`{node.value}`" if node.value != "" else "(empty)"
    return f"`{ast.get_source_segment(source, node)}`"


def variables() -> dict[str, tuple[str, bool]]:
    """Variable -> (its default, required in production), in the order the sources read them."""
    found: dict[str, tuple[str, bool]] = {}

    def note(name: str | None, default: str | None, required: bool) -> None:
        if name is None:
            return
        old_default, old_required = found.get(name, (None, False))
        found[name] = (old_default or default, old_required or required)

    for source in SOURCES:
        text = (SRC / source).read_text()
        for node in sorted(ast.walk(ast.parse(text)), key=_position):
            if isinstance(node, ast.BoolOp) and _first_read(node.values[0]):
                # os.environ.get(NAME) or DEFAULT, env_secret(NAME) or DEFAULT
                note(_name(node.values[0].args[0]), _show(node.values[1], text), False)
            elif _environ_get(node):
                default = _show(node.args[1], text) if len(node.args) > 1 else None
                note(_name(node.args[0]), default, False)
            elif (
                isinstance(node, ast.Call) and node.args and getattr(node.func, "id", "") in READERS
            ):
                kind = READERS[node.func.id]
                default = _show(node.args[1], text) if kind == "default" else "(empty)"
                note(
                    _name(node.args[0]), None if kind == "required" else default, kind == "required"
                )
            elif isinstance(node, ast.Subscript) and getattr(node.value, "attr", "") == "environ":
                note(_name(node.slice), None, True)  # os.environ[NAME]
    return {name: (default or "(none)", required) for name, (default, required) in found.items()}


def table() -> str:
    rows = [
        f"| `{name}` | {default} | {'required' if required else 'no'} |"
        for name, (default, required) in variables().items()
    ]
    return "\n".join(["| Variable | Default | Production needs it |", "|---|---|---|", *rows])


def test_readme_lists_every_environment_variable_the_settings_read():
    text = README.read_text()
    assert BEGIN in text and END in text, f"README.md has no {BEGIN} ... {END} section"
    written = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert written == table(), f"README.md's table is not the settings'; paste:\n{table()}"


if __name__ == "__main__":
    print(table())
