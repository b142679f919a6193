# Not run by the tests: asks for a password at a terminal.
just manage pg createsuperuser
