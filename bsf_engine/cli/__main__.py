"""`python -m bsf_engine.cli …` is the `bsf` command too (as is `python -m bsf_engine`)."""

from bsf_engine.cli import main

main()
