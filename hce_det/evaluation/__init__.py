from . import voc_per_class  # noqa: F401
from .faster_coco_metric import FasterCocoMetric, FasterLVISMetric  # noqa: F401
from .lvis_metric import HceLVISMetric  # noqa: F401
from .twin_confusion import TwinConfusionMetric, twin_confusion  # noqa: F401
