from .grl import GradientReversal, grad_reverse  # noqa: F401
from .apa import AGLU, APA  # noqa: F401
