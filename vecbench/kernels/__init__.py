"""Kernels, one module per operation; importing this package registers them.

Each ``<op>.py`` holds the operation's spec (validation, inputs, reference,
byte/flop counts) and its ``python`` and ``numpy`` kernels; ``<op>_numba.py``
holds the Numba kernels, imported only when first used.
"""

# Registration order is the order ops are listed in (the lecture's order).
from . import dot  # noqa: F401, I001
from . import matvec  # noqa: F401
from . import broadcast  # noqa: F401
from . import logreg  # noqa: F401
from . import train  # noqa: F401
