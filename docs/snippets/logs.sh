cd cafe-ledger
just logs pg                          # every service of the profile; Ctrl-C to stop following
