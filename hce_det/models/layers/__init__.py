from .grl import GradientReversal, grad_reverse  # noqa: F401
from .apa import AGLU, APA  # noqa: F401
from .normed_conv import NormedConv2dLearnableTemp  # noqa: F401
from .image_labels import multi_hot_labels  # noqa: F401
from .sparse_roi_align import SparseRoIAlign, SparseRoIExtractor  # noqa: F401
from .grid_roi_align import GridRoIAlign  # noqa: F401
