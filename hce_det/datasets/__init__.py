from .checked_coco import CheckedCocoDataset, DatasetError, SynthScenesDataset
from .samplers import ReversedClassBatchSampler
from .synthetic import (CLASSES, CONTEXT_CLASSES, SplitSpec, SuiteSpec, apply_fog,
                        generate_split, generate_suite)
from .transforms import LoadImageChecked

__all__ = ['CheckedCocoDataset', 'SynthScenesDataset', 'DatasetError', 'LoadImageChecked',
           'ReversedClassBatchSampler', 'CLASSES', 'CONTEXT_CLASSES', 'SplitSpec', 'SuiteSpec',
           'apply_fog', 'generate_split', 'generate_suite']
