cat > ledger-answers.yml <<'YAML'
project_name: Café Ledger
database: sqlite
worker_broker: sqlite
fly_region: fra
YAML
copier copy --defaults --data-file ledger-answers.yml gh:org/start-django cafe-ledger-sq
