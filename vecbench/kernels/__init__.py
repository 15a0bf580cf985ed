"""Kernels, one module per operation; importing this package registers them.

``vecbench.kernels`` is both this package and the public function
:func:`vecbench.registry.kernels` (importing a subpackage rebinds the parent's
attribute of the same name), so the package module is made callable and
calling it lists the kernels: ``vb.kernels()`` works whichever was bound last.

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


import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        from ..registry import kernels

        return kernels(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
