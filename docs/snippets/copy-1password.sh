copier copy --defaults \
  --data project_name="Café Ledger" \
  --data secrets=1password \
  gh:org/start-django cafe-ledger-op
