# Not run by the tests: needs flyctl and a Fly.io account.
fly secrets set --stage SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
fly secrets set --stage DATABASE_URL="postgres://USER:PASSWORD@HOST:5432/NAME"   # PostgreSQL apps
fly secrets set --stage REDIS_URL="redis://default:PASSWORD@HOST:6379"           # huey with Redis
fly secrets set --stage EMAIL_HOST=smtp.example.com EMAIL_HOST_USER=cafe EMAIL_HOST_PASSWORD=...
fly secrets list
