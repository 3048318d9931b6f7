"""Image-recognition long-tail methods as RoI-head components:
BBN, DiVE, RIDE, SC/PSC, MDCS, SEF."""
from .base import RecognitionBBoxHead, load_class_counts
from .bbn import BBNBBoxHead
from .contrastive import (ContrastiveBBoxHead, prototype_contrastive_loss,
                          supervised_contrastive_loss)
from .dive import DiVEBBoxHead, TeacherTwoStageDetector, dive_loss, flattened_teacher
from .mdcs import MDCSBBoxHead, mdcs_loss
from .ride import CosineClassifier, RIDEBBoxHead, effective_number_weights, ride_loss
from .sef import SEFBBoxHead, group_decorrelation_loss

__all__ = [
    'RecognitionBBoxHead', 'load_class_counts', 'BBNBBoxHead', 'ContrastiveBBoxHead',
    'supervised_contrastive_loss', 'prototype_contrastive_loss', 'DiVEBBoxHead', 'dive_loss',
    'flattened_teacher', 'TeacherTwoStageDetector', 'MDCSBBoxHead', 'mdcs_loss',
    'CosineClassifier', 'RIDEBBoxHead', 'ride_loss', 'effective_number_weights', 'SEFBBoxHead',
    'group_decorrelation_loss',
]
