# Each sub-package registers its modules on import.
from . import backbones, da, hce, layers, long_tail, recognition  # noqa: F401
