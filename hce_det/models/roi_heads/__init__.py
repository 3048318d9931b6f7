from .dropout_fc_bbox_head import Shared2FCDropoutBBoxHead  # noqa: F401
