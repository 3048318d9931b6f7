from .categorical_reg import ImageCategoryClassifier, ccr_weights, image_labels_from_gt
from .da_faster_rcnn import DAFasterRCNN
from .da_roi_head import (DACascadeRoIHead, DACascadeRoIHeadMixin, DARoIHeadMixin,
                          DAStandardRoIHead, RoIOutputs, RoIOutputsMixin, box_head_forward)
from .discriminators import (GlobalDomainDiscriminator, ImageDomainDiscriminator,
                             InstanceDomainDiscriminator, LocalDomainDiscriminator,
                             focal_domain_loss)
from .domain_batch import DomainBatchPreprocessor, SelectFeatureLevels
from .hce_da_roi_head import DA_HCE_ROI_HEADS, HCERoIOutputsMixin, da_hce_head_class
from .sw_context import ContextLinear, ImageContextFeatures, SWContextRoIHead

__all__ = ['DAFasterRCNN', 'ImageDomainDiscriminator', 'InstanceDomainDiscriminator',
           'LocalDomainDiscriminator', 'GlobalDomainDiscriminator', 'focal_domain_loss',
           'ImageCategoryClassifier', 'ccr_weights', 'image_labels_from_gt',
           'DomainBatchPreprocessor', 'SelectFeatureLevels', 'ContextLinear',
           'ImageContextFeatures', 'SWContextRoIHead', 'DARoIHeadMixin', 'DACascadeRoIHeadMixin',
           'DAStandardRoIHead', 'DACascadeRoIHead', 'RoIOutputs', 'RoIOutputsMixin',
           'box_head_forward', 'HCERoIOutputsMixin', 'da_hce_head_class', 'DA_HCE_ROI_HEADS']
