"""tools/demo.py: the summary table (differences to the baseline) and the per-class plot."""
import os.path as osp

from conftest import ROOT


def test_demo_summary_table_and_per_class_plot(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location('demo', osp.join(ROOT, 'tools/demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    base = dict(mAP=0.30, AP50=0.5, ctxAP=0.20, twin_confusion=0.50,
                AP_boat=0.1, AP_car=0.2, AP_buoy=0.3, AP_cone=0.2)
    hce = dict(base, ctxAP=0.26, twin_confusion=0.30, AP_boat=0.25)
    rows = [dict(variant='vanilla', metrics=base, seconds=10.0),
            dict(variant='gated', metrics=hce, seconds=12.0)]
    table = demo.summary_table(rows)
    diff = [line for line in table.splitlines() if line.startswith('d gated')][0].split()
    # mAP +0.0, AP50 +0.0, ctxAP +6.0, twin -20.0, boat +15.0
    assert diff[2:7] == ['+0.0', '+0.0', '+6.0', '-20.0', '+15.0']
    png = tmp_path / 'pc.png'
    demo.plot_per_class(rows, str(png))
    assert png.stat().st_size > 1000


def test_runs_side_by_side_equal_one_thread_runs_in_turn(tiny_data, tmp_path, one_thread):
    """``--jobs 2`` (worker processes, one thread each) gives exactly the metrics of the same
    runs trained one after the other in one thread, and prints each run's AP table."""
    from tools import demo
    from tools.analysis.ladders import LADDERS
    ladder = LADDERS['hce']
    variants = [ladder.variant('vanilla'), ladder.variant('embloss')]
    par = demo.train_all(ladder, variants, 0, 2, tiny_data, str(tmp_path / 'par'), jobs=2)
    seq = demo.train_all(ladder, variants, 0, 2, tiny_data, str(tmp_path / 'seq'), jobs=1)
    assert [r['variant'] for r in par] == ['vanilla', 'embloss']
    for a, b in zip(par, seq):
        assert a['raw'] == b['raw']
    table = demo.ap_table(str(tmp_path / 'par' / 'vanilla.log'))
    assert table.splitlines()[1].split()[1:3] == ['category', '|']
