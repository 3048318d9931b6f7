from .grl_schedule import GRLScheduleHook, grl_scale  # noqa: F401
from .cumulative_alpha import CumulativeAlphaHook  # noqa: F401
from .exact_resume import ExactResumeHook  # noqa: F401
from .finite_loss import FiniteLossHook, NonFiniteLossError  # noqa: F401
from .freeze import FreezeExceptHook  # noqa: F401
from .loss_record import LossRecordHook  # noqa: F401
from .num_class_check import ClassCountCheckHook, NumClassMismatchError  # noqa: F401
from .metric_history import MetricHistoryHook  # noqa: F401
from .train_ann_file import TrainAnnFileHook  # noqa: F401
