"""The LVIS frequency groups, one rule for the built-in data and the LVIS metrics: a category is
rare with 1-10 training images, common with 11-100, frequent with more (Gupta et al., LVIS,
CVPR 2019; the ``frequency`` field of LVIS v1 categories)."""

RARE_MAX, COMMON_MAX = 10, 100


def lvis_frequency(image_count: int, rare_max: int = RARE_MAX,
                   common_max: int = COMMON_MAX) -> str:
    """``'r'`` / ``'c'`` / ``'f'`` from the number of training images holding the category."""
    return 'r' if image_count <= rare_max else 'c' if image_count <= common_max else 'f'
