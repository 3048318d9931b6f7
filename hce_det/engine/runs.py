"""Several Runners in one process (tools/demo.py, tools/analysis/compare.py).

mmengine builds a Runner's visualizer with ``Visualizer.get_instance(name, ...)``, which returns
the instance already registered under that name and ignores the new arguments. mmdet's
default runtime names it ``'visualizer'``, so every Runner after the first in a process got the
first run's visualizer, and with it its ``save_dir``: the second run's JSON log and scalars
went into the first run's ``<work_dir>/<timestamp>/vis_data/``.
"""
import itertools
import os

_RUN_IDS = itertools.count()


def own_visualizer(cfg):
    """Give the Runner built from ``cfg`` a visualizer of its own (a process-unique name).

    Usable as ``build_runner(..., cfg_hook=own_visualizer)``; returns ``cfg``. Without a
    ``visualizer`` key the Runner names one after its experiment and nothing is changed.
    """
    vis = cfg.get('visualizer')
    if isinstance(vis, dict):
        base = str(vis.get('name') or 'visualizer').split('#')[0]
        vis['name'] = f'{base}#{os.getpid()}-{next(_RUN_IDS)}'
    return cfg
