from . import hooks  # noqa: F401
from . import optim_wrappers  # noqa: F401  (CpuAmpOptimWrapper)
