"""tools/demo.py: the summary table (differences to the baseline) and the per-class plot."""
import os
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


def test_side_by_side_workers_find_the_shared_init_already_written(tiny_data, tmp_path,
                                                                   monkeypatch):
    """``train_all(jobs=2)`` writes the seed's shared initial weights before it starts any
    worker, so two workers never race to write the same file (a race that failed the test
    above when both finished building at once)."""
    from tools import demo
    from tools.analysis.compare import shared_init_path
    from tools.analysis.ladders import LADDERS
    seen = []

    class Pool:  # records what a worker would find; trains nothing
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args):
            seen.append(osp.isfile(shared_init_path(str(tmp_path), 0)))
            return type('F', (), dict(result=lambda self: dict(variant=args[3].name)))()

    monkeypatch.setattr(demo, 'ProcessPoolExecutor', Pool)
    monkeypatch.setattr(demo, 'ap_table', lambda log: '')
    ladder = LADDERS['hce']
    rows = demo.train_all(ladder, [ladder.variant('vanilla'), ladder.variant('embloss')], 0, 2,
                          tiny_data, str(tmp_path), jobs=2)
    assert seen == [True, True] and [r['variant'] for r in rows] == ['vanilla', 'embloss']
    assert not [f for f in os.listdir(tmp_path / 'init') if f.endswith('.tmp')]
