"""HCE: Hierarchical Context Embedding (Chen et al., ECCV 2020) as mmdet RoI-head plug-ins."""
from .categorical_embedding import CategoricalEmbedding, image_level_targets
from .context_classifier import ContextClassifier, fuse_activated_scores, fuse_class_probs
from .context_roi import HierarchicalContextRoI
from .families import HCE_HEADS, REFUSED, SUPPORTED, HCECascadeRoIHead, HCERoIHead
from .hce_roi_head import HCEFeatures, HCEMixin, ImageContext, roi_labels

__all__ = ['CategoricalEmbedding', 'image_level_targets', 'ContextClassifier', 'fuse_class_probs',
           'fuse_activated_scores',
           'HierarchicalContextRoI', 'HCERoIHead', 'HCECascadeRoIHead', 'HCEFeatures', 'HCEMixin',
           'ImageContext', 'roi_labels',
           'HCE_HEADS', 'SUPPORTED', 'REFUSED']
