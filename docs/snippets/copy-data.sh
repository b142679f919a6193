copier copy --defaults \
  --data project_name="Café Ledger" \
  --data database=both \
  gh:org/start-django cafe-ledger
