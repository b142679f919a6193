# Not run by the tests: needs a remote machine with Docker, reachable over SSH.
docker context create build-box --docker host=ssh://deploy@build-box.example.com
docker context use build-box
just up pg                                 # builds and runs on build-box
ssh -N -L 8080:127.0.0.1:8080 deploy@build-box.example.com &   # its 127.0.0.1:8080, here
curl -fsS http://127.0.0.1:8080/health/
just down pg
docker context use default
