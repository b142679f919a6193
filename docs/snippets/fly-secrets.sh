# Not run by the tests: needs flyctl and a Fly.io account (the tests run `just fly-secrets`
# against a stand-in fly that records what it was given).
just fly-secrets                   # the app's own SECRET_KEY (made once); email and Sentry from .env
fly secrets set --stage DATABASE_URL="postgres://USER:PASSWORD@HOST:5432/NAME"   # PostgreSQL apps
fly secrets set --stage REDIS_URL="redis://default:PASSWORD@HOST:6379"           # huey on Redis
fly secrets list
