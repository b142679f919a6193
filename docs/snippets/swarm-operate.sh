just stack-scale web=5 worker=3    # more replicas; Caddy finds them within a second
git commit -am "a change" && just stack-build && just stack-deploy   # a rolling update
just stack-rm                      # the stack goes; its volumes and secrets stay
