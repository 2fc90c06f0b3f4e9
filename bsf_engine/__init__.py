"""bsf: BayesianSpikeFusion end to end, as a library.

The engine never imports Textual; the `bsf` console script (`bsf_engine.cli`)
and the terminal UI are thin layers over the modules here.
"""

__version__ = "0.1.0"
