"""`python -m discovery.cli` is the same as the `discover` command."""

from discovery.cli import main

main()
