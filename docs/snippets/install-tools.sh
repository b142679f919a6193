# Not run by the tests: installs tools on your machine.
uv tool install copier          # the template engine
uv tool install rust-just       # `just`, the command runner the project uses
