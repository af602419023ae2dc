"""`python -m gateway.cli`: the same as the `fengqiao` command."""

from gateway.cli import main

main()
