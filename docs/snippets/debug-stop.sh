cd cafe-ledger
docker compose -f compose.yaml -f compose.debug.yaml --profile sq down
