cd cafe-ledger
just lock                                        # the image installs from src/uv.lock
docker build -f deploy/pg/Dockerfile --build-arg run_cmd=run.sh -t cafe-ledger-pg src
docker build -f deploy/sq/Dockerfile --build-arg run_cmd=run.sh -t cafe-ledger-sq src
