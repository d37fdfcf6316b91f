"""What drives the outside world for the use cases: the fenced package source the resolver
reads, fenced builds, git and other direct references, pip-audit's services, source checks."""
