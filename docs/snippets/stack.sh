cd cafe-ledger
just up pg                            # build, start, wait until every service is healthy
docker compose --profile pg ps        # what runs, and its health
just manage pg showmigrations         # any manage.py command, inside web-pg
just down pg
