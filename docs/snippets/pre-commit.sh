cd cafe-ledger
uv run --project src pre-commit install          # run the hooks on every git commit
uv run --project src pre-commit run --all-files  # or all of them, now
