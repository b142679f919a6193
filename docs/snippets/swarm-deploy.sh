docker swarm init                  # once per cluster; other machines join with the token it prints
just stack-build                   # the image, tagged with the current commit
just stack-deploy                  # the swarm's secrets (made once), then the stack; waits until converged
just stack-ps
