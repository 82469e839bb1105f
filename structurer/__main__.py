"""`python -m structurer ...`: the same command line as `structurer ...`."""

from .cli import main

main()
