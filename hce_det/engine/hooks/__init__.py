from .grl_schedule import GRLScheduleHook, grl_scale  # noqa: F401
from .cumulative_alpha import CumulativeAlphaHook  # noqa: F401
