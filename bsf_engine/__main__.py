"""`python -m bsf_engine …` is the `bsf` command."""

from bsf_engine.cli import main

main()
