copier copy --defaults --vcs-ref v1.0.0 gh:org/start-django cafe-ledger-v1
