# Each sub-package registers its modules on import.
from . import backbones, da, hce, layers, long_tail, recognition, roi_heads  # noqa: F401
