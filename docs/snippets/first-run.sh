cd cafe-ledger
just env                                   # .env with a fresh SECRET_KEY
just up pg                                 # lock, build, start, wait until healthy
curl -fsS http://127.0.0.1:8080/health/    # {"status": "ok"}
just down pg                               # containers gone, volumes kept
