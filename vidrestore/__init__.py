"""vidrestore: video and temporal restoration that loses nothing."""

import logging

__version__ = "0.1.0"

logging.getLogger("vidrestore").addHandler(logging.NullHandler())

__all__ = ["__version__"]
