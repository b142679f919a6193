cd cafe-ledger
docker compose --profile sq exec web-sq \
  litestream restore -integrity-check full -o /tmp/drill.sqlite3 file:///replica/db
docker compose --profile sq exec web-sq python -c "
import sqlite3
db = sqlite3.connect('/tmp/drill.sqlite3')
print('entries in the restored copy:', db.execute('select count(*) from cafe_ledger_entry').fetchone()[0])
"
just down sq
