"""Long-tailed detection: sigmoid-family classifier activations, losses and box heads."""
from .activations import APAClsAct, ClsActivation, GumbelClsAct, SigmoidClsAct
from .class_freq import (ClassImageCounts, image_counts_from_ann_file, rare_by_frequency,
                         translate_freq_thr)
from .heads import (APABBoxHead, GumbelBBoxHead, LongTailBBoxHead,
                    inference_class_probabilities)
from .losses import (DropLoss, EQLV2FixedLoss, FederatedLoss, GumbelLoss, LongTailBCELoss,
                     SyncSeesawLoss,
                     build_cls_activation)
from .score_inverse import has_score_inverse, logits_for_scores

__all__ = ['ClsActivation', 'SigmoidClsAct', 'GumbelClsAct', 'APAClsAct', 'ClassImageCounts',
           'image_counts_from_ann_file', 'translate_freq_thr', 'rare_by_frequency',
           'inference_class_probabilities', 'LongTailBBoxHead', 'APABBoxHead', 'GumbelBBoxHead',
           'LongTailBCELoss', 'GumbelLoss', 'DropLoss', 'FederatedLoss', 'EQLV2FixedLoss',
           'build_cls_activation', 'SyncSeesawLoss', 'has_score_inverse',
           'logits_for_scores']
