"""Haven: a clinical platform for supervised psychedelic-assisted therapy."""

__version__ = "0.1.0"
