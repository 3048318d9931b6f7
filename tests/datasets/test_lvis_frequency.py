"""The LVIS r/c/f rule shared by the built-in data and the LVIS metrics."""
from hce_det.datasets.lvis_frequency import lvis_frequency


def test_lvis_frequency_thresholds():
    assert [lvis_frequency(n) for n in (1, 10, 11, 100, 101)] == ['r', 'r', 'c', 'c', 'f']
