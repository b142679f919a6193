cd cafe-ledger/src
export DEBUG=true HUEY_IMMEDIATE=true    # development defaults; tasks run inline
uv run python manage.py migrate
uv run python manage.py runserver 127.0.0.1:8000
