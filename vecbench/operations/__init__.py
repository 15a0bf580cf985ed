"""The operations, one module each; :data:`SPECS` lists their specs, which the registry registers.

Each ``<op>.py`` holds the operation's spec (validation, inputs, reference,
byte/flop counts) and its ``python`` and ``numpy`` kernels, the loop and the
vectorized line side by side; ``<op>_numba.py`` holds the Numba kernels,
imported only when first used. Which backend runs which function is declared
by the backends (:mod:`vecbench.backends`), not here.
"""

# Registration order is the order ops are listed in (the lecture's order).
from . import dot  # noqa: F401, I001
from . import matvec  # noqa: F401
from . import broadcast  # noqa: F401
from . import logreg  # noqa: F401
from . import train  # noqa: F401
from . import mlp  # noqa: F401

# Every op's spec, in listing order: what the registry registers on first use.
SPECS = (*dot.SPECS, *matvec.SPECS, *broadcast.SPECS, *logreg.SPECS, *train.SPECS, *mlp.SPECS)
