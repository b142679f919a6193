# Not run by the tests: needs a remote machine with Docker, reachable over SSH.
DOCKER_HOST=ssh://deploy@build-box.example.com just up sq
DOCKER_HOST=ssh://deploy@build-box.example.com just logs sq
