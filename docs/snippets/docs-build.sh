uv run mkdocs build --strict       # into site/, failing on any warning
