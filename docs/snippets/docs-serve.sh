uv run mkdocs serve --dev-addr 127.0.0.1:8000
