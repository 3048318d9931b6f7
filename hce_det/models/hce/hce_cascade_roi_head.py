"""Kept for imports: ``HCECascadeRoIHead`` (HCE at every Cascade R-CNN stage) lives in
``families.py``."""
from .families import HCECascadeRoIHead

__all__ = ['HCECascadeRoIHead']
