# Not run by the tests: needs flyctl and a Fly.io account
fly scale count 3 --process-group web      # PostgreSQL projects only (see above)
fly scale count 2 --process-group worker   # huey on Redis: the periodic sweep still runs once
fly status
