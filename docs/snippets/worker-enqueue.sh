cd cafe-ledger
just up pg
docker compose --profile pg exec web-pg python manage.py shell -c "
from cafe_ledger.models import Entry
from cafe_ledger.tasks import process_entry
entry = Entry.objects.create(title='Queued from the shell', body='four words in here')
process_entry(entry.pk).get(blocking=True, timeout=30)   # waits for the worker container
entry.refresh_from_db()
print('processed by the worker:', entry.word_count, 'words')
"
docker compose --profile pg logs worker-pg | grep process_entry
