"""quotetrace: align parallel statements across news outlets and languages.

Public names only; heavy libraries (torch, sentence-transformers) are imported lazily by the
stages that need them so that the CLI starts fast.
"""

__version__ = "0.1.0"
