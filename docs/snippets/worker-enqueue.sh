cd cafe-ledger
just up pg
docker compose --profile pg exec web-pg python manage.py shell -c "
import time
from cafe_ledger.models import Entry
from cafe_ledger.tasks import process_entry
entry = Entry.objects.create(title='Queued from the shell', body='four words in here')
process_entry.enqueue(entry.pk)
deadline = time.time() + 30   # the worker container takes it within a second or two
while entry.processed_at is None and time.time() < deadline:
    time.sleep(0.2)
    entry.refresh_from_db()
print('processed by the worker:', entry.word_count, 'words')
"
docker compose --profile pg logs worker-pg | grep 'task process_entry'
