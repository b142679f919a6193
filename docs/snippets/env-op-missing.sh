cd cafe-ledger-op
just env     # no `op` on this machine: the recipe stops with a message, and writes nothing
