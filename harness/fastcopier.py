"""copier as the suite runs it in-process: the same renders, with five kinds of repeated
work done once.

* copier 9.19 asks git for `core.fileMode` of the destination before writing each file's mode
  (`Worker._sync_git_index_executable_bit`), which only acts where it is "false". The answer
  cannot change during a render unless the destination's git config does, so here it is
  asked once per destination and config state. A render of this template's 77 files spent
  about half its time in those processes. (The same memo belongs upstream, in copier.)
* copier builds a new Jinja environment for every render and compiles every file and every
  part of every path in it again: about 700 compilations per render, 2,000 per update. The
  code Jinja compiles depends only on the source and on the environment's syntax settings,
  extensions and filter signatures, so compiled code is kept under those, in this process.
* copier reads copier.yml (and the YAML files it includes) again for every Template object,
  about four times per update, each time from a fresh clone. What it reads is kept under the
  bytes of the YAML files beside copier.yml, and handed out as a copy.
* copier checks a remote template out again for every Template object (about five times per
  update), six git processes each (refresh the mirror, prune, add a worktree, submodules).
  What it checks out depends only on the commit the ref names, so one checkout per address
  and commit is kept in this process (read only: copier renders from it and asks git about
  it, and removes only its own placeholder folder). The version copier reads from such a
  checkout (dunamai: eleven git processes, twice per update) is kept with it.

* copier builds the Jinja context again for every file and every part of every path (about
  600 times per render), and renders the answers file's name again each time it needs it
  (about 300 times). Neither can change while `_render_template` writes the files: the
  answers are settled before it starts. So inside it, each is built once per worker.

`install()` is idempotent; harness.renders and the upgrade tests call it before rendering.
tests/test_render.py checks that a render through it is byte for byte copier's own.
"""

from __future__ import annotations

import atexit
import copy
import functools
import hashlib
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path
from types import CodeType

_FILE_MODE: dict[tuple[str, float | None], str] = {}
_CODE: dict[tuple, CodeType] = {}
_CONFIG: dict[str, dict] = {}
_CHECKOUTS: dict[tuple[str, str], str] = {}
_VERSIONS: dict[str, object] = {}  # kept checkout -> its version


def _config_state(root: Path) -> float | None:
    config = root / ".git" / "config"
    return config.stat().st_mtime if config.exists() else None


def file_mode(root: Path) -> str:
    """`git config --type=bool --get core.fileMode` in root ("" when unset or no repo)."""
    key = (str(root), _config_state(root))
    if key not in _FILE_MODE:
        result = subprocess.run(
            ["git", "config", "--type=bool", "--get", "core.fileMode"],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        _FILE_MODE[key] = result.stdout.strip() if result.returncode == 0 else ""
    return _FILE_MODE[key]


_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # env -> (sizes, key)


def codegen_key(env) -> tuple | None:
    """codegen_key_now(env), kept per environment while its filters and tests stay as many."""
    sizes = (len(env.filters), len(env.tests))
    kept = _KEYS.get(env)
    if kept is None or kept[0] != sizes:
        kept = _KEYS[env] = (sizes, codegen_key_now(env))
    return kept[1]


def codegen_key_now(env) -> tuple | None:
    """What besides the source decides the code Jinja compiles in this environment (its
    lexer's settings, the same tuple jinja2.lexer.get_lexer caches lexers under; extensions,
    filters and tests with how each takes its arguments; policies), or None where that cannot
    be told (a callable autoescape or finalize): then nothing is kept."""
    from jinja2.utils import _PassArg

    if callable(env.autoescape) or env.finalize is not None:
        return None
    return (
        type(env), env.block_start_string, env.block_end_string, env.variable_start_string,
        env.variable_end_string, env.comment_start_string, env.comment_end_string,
        env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
        env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline, env.autoescape,
        env.optimized, env.is_async, tuple(sorted(env.extensions)),
        tuple(sorted((n, _PassArg.from_obj(f)) for n, f in env.filters.items())),
        tuple(sorted((n, _PassArg.from_obj(f)) for n, f in env.tests.items())),
        tuple(sorted((k, repr(v)) for k, v in env.policies.items())),
    )  # fmt: skip


def yaml_digest(conf_path: Path) -> str:
    """The bytes of copier.yml and of every YAML file in its template (the ones it can
    include), by name."""
    h = hashlib.sha256()
    root = Path(conf_path).parent
    for path in sorted(root.rglob("*.y*ml")):
        if ".git" not in path.relative_to(root).parts and path.suffix in {".yml", ".yaml"}:
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def named_commit(url: str, ref: str) -> str | None:
    """The commit a branch or tag names at url (`git ls-remote`), or None (a commit id, or
    a ref the remote does not have: left to copier)."""
    listed = subprocess.run(["git", "ls-remote", "--", url, ref], capture_output=True,
                            text=True, check=False).stdout.splitlines()  # fmt: skip
    names = {line.split("\t")[1]: line.split("\t")[0] for line in listed if "\t" in line}
    for name in (f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}", ref):
        if name in names:
            return names[name]
    return None


def install() -> None:
    import jinja2
    from copier import _main, _template, _vcs

    original_sync = _main.Worker._sync_git_index_executable_bit
    if getattr(original_sync, "memoized", False):
        return

    def sync(self, dst_relpath, src_mode):
        root = Path(self.subproject.local_abspath)
        if root.is_dir() and file_mode(root) != "false":
            return  # git picks up the on-disk chmod itself: what copier would conclude
        original_sync(self, dst_relpath, src_mode)

    original_compile = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        env = codegen_key(self) if isinstance(source, str) and not raw else None
        if env is None:
            return original_compile(self, source, name, filename, raw, defer_init)
        key = (env, source, name, filename, defer_init)
        if key not in _CODE:
            _CODE[key] = original_compile(self, source, name, filename, raw, defer_init)
        return _CODE[key]

    original_config = _template.load_template_config

    def load_template_config(conf_path, quiet=False):
        key = f"{yaml_digest(conf_path)}:{quiet}"
        if key not in _CONFIG:
            _CONFIG[key] = original_config(conf_path, quiet)
        return copy.deepcopy(_CONFIG[key])

    original_clone = _template.clone

    def clone(url, ref="HEAD", location=None):
        commit = named_commit(url, ref) if _vcs._is_remote(url) else None
        if commit is None:
            return original_clone(url, ref, location)
        if (url, commit) not in _CHECKOUTS:
            kept = tempfile.mkdtemp(prefix="fastcopier-checkout-")
            atexit.register(shutil.rmtree, kept, ignore_errors=True)
            _CHECKOUTS[(url, commit)] = original_clone(url, commit, kept)
        return _CHECKOUTS[(url, commit)]

    original_render_template = _main.Worker._render_template
    original_context = _main.Worker._render_context
    original_relpath = _main.Worker.answers_relpath.fget

    def render_template(self):
        self._fast_settled = {}  # answers settled: context and answers path kept until done
        try:
            original_render_template(self)
        finally:
            del self._fast_settled

    def render_context(self):
        settled = getattr(self, "_fast_settled", None)
        if settled is None:
            return original_context(self)
        if "context" not in settled:
            settled["context"] = original_context(self)
        # A new dict each time (callers add to it); _copier_conf is only read by the renders.
        return dict(settled["context"])

    def answers_relpath(self):
        settled = getattr(self, "_fast_settled", None)
        if settled is None:
            return original_relpath(self)
        if "relpath" not in settled:
            # copier's own, on a context of its own (it writes into that context's _copier_conf)
            del self._fast_settled
            try:
                relpath = original_relpath(self)
            finally:
                self._fast_settled = settled
            settled["relpath"] = relpath
        return settled["relpath"]

    original_version = _template.Template.version.func

    def version(self):
        checkout = str(self.local_abspath)
        if checkout not in {str(Path(kept).resolve()) for kept in _CHECKOUTS.values()}:
            return original_version(self)
        if checkout not in _VERSIONS:
            _VERSIONS[checkout] = original_version(self)
        return _VERSIONS[checkout]

    kept_version = functools.cached_property(version)
    kept_version.__set_name__(_template.Template, "version")

    sync.memoized = True
    _template.Template.version = kept_version
    _main.Worker._render_template = render_template
    _main.Worker._render_context = render_context
    _main.Worker.answers_relpath = property(answers_relpath)
    _main.Worker._sync_git_index_executable_bit = sync
    jinja2.Environment.compile = compile
    _template.load_template_config = load_template_config
    _template.clone = clone
