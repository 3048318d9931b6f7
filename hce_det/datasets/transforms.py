"""Image loading that names the file and the fix when an image cannot be decoded or does not
have the size its annotation file states."""
from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS

from .checked_coco import DatasetError


@TRANSFORMS.register_module()
class LoadImageChecked(LoadImageFromFile):
    """``LoadImageFromFile`` raising :class:`DatasetError` for missing or corrupt files.

    (mmcv raises a bare ``AssertionError: failed to load image`` or a decoder error; with
    ``ignore_empty=True`` the sample is still skipped, but the skip is logged.)

    Args:
        check_size: compare the decoded size with the annotation file's ``height``/``width``
            (when the sample carries them) and raise :class:`DatasetError` on a difference. The
            usual cause is an EXIF orientation tag: the decoder rotates the pixels, the boxes stay
            where they were drawn, and training would go on silently on misplaced boxes.
    """

    def __init__(self, *args, check_size: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.check_size = check_size

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
        if not self.check_size or results.get('height') is None or results.get('width') is None:
            return out
        (h, w), (H, W) = out['img'].shape[:2], (int(results['height']), int(results['width']))
        if (h, w) != (H, W):
            raise DatasetError(
                f'image file {path!r} decodes to {w}x{h} (width x height) but the annotation file '
                f'says {W}x{H}, so its boxes would be misplaced. If the file has an EXIF '
                'orientation tag (decoders rotate such images): boxes drawn on the pixels as '
                "stored -> load them as stored with color_type='color_ignore_orientation' in "
                'LoadImageChecked; boxes drawn on the upright image -> set width/height in the '
                'annotation file to the upright size. Otherwise correct width/height or the file.')
        return out
