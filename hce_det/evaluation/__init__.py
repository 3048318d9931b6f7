from . import summary  # noqa: F401
from . import voc_per_class  # noqa: F401
from .lvis_metric import HceLVISMetric  # noqa: F401
from .twin_confusion import TwinConfusionMetric, twin_confusion  # noqa: F401
