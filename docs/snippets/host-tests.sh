cd cafe-ledger
just lock            # src/uv.lock: made if missing, refreshed after pyproject.toml changes
just test            # the project's pytest suite, on SQLite, tasks run inline
just test -k health  # arguments go to pytest
just lint            # ruff check and ruff format --check
