"""hce_det: HCE, CR-DA and long-tail modules for mmdetection 3.x two-stage detectors.

``import hce_det`` (or ``custom_imports=dict(imports=['hce_det'])`` in a config) registers every
module into mmdet's registries and applies the compatibility fixes in :mod:`hce_det.compat`.
"""
from . import compat

compat.apply_all()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registration)

__version__ = '0.1.0'
