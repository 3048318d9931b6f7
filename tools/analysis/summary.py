"""Small helpers to summarise CocoMetric results across runs (report code for tools/ scripts;
moved out of the library, issue 15)."""
from typing import Dict, List, Optional, Sequence

from hce_det.datasets.synthetic import CONTEXT_CLASSES


def per_class_ap(metrics: Dict[str, float], prefix: str = 'coco/') -> Dict[str, float]:
    """Per-class AP from CocoMetric(classwise=True) output (``coco/<cls>_precision``)."""
    out = {}
    for k, v in metrics.items():
        if k.startswith(prefix) and k.endswith('_precision'):
            out[k[len(prefix):-len('_precision')]] = float(v)
    return out


def context_ap(metrics: Dict[str, float], classes: Sequence[str] = CONTEXT_CLASSES) -> Optional[float]:
    """Mean AP over the context-dependent classes (None when the metric lacks per-class AP)."""
    pc = per_class_ap(metrics)
    vals = [pc[c] for c in classes if c in pc and pc[c] == pc[c] and pc[c] >= 0]
    return sum(vals) / len(vals) if vals else None


def format_table(rows: List[dict]) -> str:
    """One line per run: mAP, AP50, context AP, seconds, and deltas to the first row."""
    def f(x):
        return '   n/a' if x is None else f'{x:6.3f}'
    head = f"{'config':58s} {'mAP':>6s} {'AP50':>6s} {'ctxAP':>6s} {'time':>6s}"
    lines = [head, '-' * len(head)]
    base = rows[0]
    for r in rows:
        m = r['metrics']
        lines.append(f"{r['name'][:58]:58s} {f(m.get('coco/bbox_mAP'))} "
                     f"{f(m.get('coco/bbox_mAP_50'))} {f(r.get('context_AP'))} "
                     f"{r['seconds']:5.0f}s")
    for r in rows[1:]:
        d = [None if (r['metrics'].get(k) is None or base['metrics'].get(k) is None)
             else r['metrics'][k] - base['metrics'][k] for k in ('coco/bbox_mAP', 'coco/bbox_mAP_50')]
        dc = (None if r.get('context_AP') is None or base.get('context_AP') is None
              else r['context_AP'] - base['context_AP'])
        lines.append(f"delta {r['name'][:52]:52s} {f(d[0])} {f(d[1])} {f(dc)}")
    return '\n'.join(lines)
