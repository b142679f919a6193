docker swarm init                  # once per cluster; other machines join with the token it prints
just stack-build                   # the image, tagged with the current commit
just stack-deploy                  # secrets from .env, then the stack; waits until it has converged
just stack-ps
