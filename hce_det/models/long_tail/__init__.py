"""Long-tailed detection: sigmoid-family classifier activations, losses and box heads."""
from .activations import APAClsAct, ClsActivation, GumbelClsAct, SigmoidClsAct
from .class_freq import ClassImageCounts, image_counts_from_ann_file
from .heads import APABBoxHead, GumbelBBoxHead, LongTailBBoxHead
from .losses import (DropLoss, EQLV2FixedLoss, FederatedLoss, GumbelLoss, LongTailBCELoss,
                     SyncSeesawLoss,
                     build_cls_activation)

__all__ = ['ClsActivation', 'SigmoidClsAct', 'GumbelClsAct', 'APAClsAct', 'ClassImageCounts',
           'image_counts_from_ann_file', 'LongTailBBoxHead', 'APABBoxHead', 'GumbelBBoxHead',
           'LongTailBCELoss', 'GumbelLoss', 'DropLoss', 'FederatedLoss', 'EQLV2FixedLoss',
           'build_cls_activation', 'SyncSeesawLoss']
