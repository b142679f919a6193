cd cafe-ledger
just up sq
# 1. Write something worth restoring.
docker compose --profile sq exec web-sq python manage.py shell -c "
from cafe_ledger.models import Entry
Entry.objects.create(title='before the disaster')
"
# 2. Stop: litestream syncs a last time as the app stops, so the replica holds that write.
just down sq
# 3. Lose the database volume; keep the replica volume.
docker volume rm cafe-ledger_sq-data
# 4. Start again: web.sh restores the database before anything opens it.
just up sq
docker compose --profile sq logs web-sq | grep "web.sh:"
docker compose --profile sq exec web-sq litestream ltx file:///replica/db    # the replica's files
docker compose --profile sq exec web-sq python manage.py shell -c "
from cafe_ledger.models import Entry
print('restored:', Entry.objects.filter(title='before the disaster').count())
"
