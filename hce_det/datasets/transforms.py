"""Image loading that names the file and the fix when an image cannot be decoded."""
from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS

from .checked_coco import DatasetError


@TRANSFORMS.register_module()
class LoadImageChecked(LoadImageFromFile):
    """``LoadImageFromFile`` raising :class:`DatasetError` for missing or corrupt files.

    (mmcv raises a bare ``AssertionError: failed to load image`` or a decoder error; with
    ``ignore_empty=True`` the sample is still skipped, but the skip is logged.)
    """

    def transform(self, results: dict):
        path = results['img_path']
        try:
            out = super().transform(results)
        except FileNotFoundError:
            raise DatasetError(f'image file {path!r} is missing; restore it or remove it from the '
                               'annotation file.') from None
        except Exception as e:  # decoder errors and mmcv's `img is not None` assertion
            raise DatasetError(f'image file {path!r} cannot be decoded ({type(e).__name__}: {e}); '
                               'it is corrupt or not an image. Regenerate/replace it or remove '
                               'it from the annotation file.') from None
        if out is None:
            from mmengine.logging import print_log
            print_log(f'skipping unreadable image {path!r} (ignore_empty=True)', logger='current',
                      level=30)
        return out
