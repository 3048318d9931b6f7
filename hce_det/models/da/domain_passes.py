"""Plain helpers of :class:`~.da_faster_rcnn.DAFasterRCNN`: a two-domain batch in, one backbone
pass per domain (or a joint one) out, and the sample edits the detector needs."""
import copy
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.structures import SampleList

DOMAIN_FORWARDS = ('separate', 'joint')


class DomainPass(NamedTuple):
    """One backbone + neck forward: its outputs, which domains it holds (in batch order, with
    their image counts) and each image's valid size inside the padded input."""
    feats: Tuple[Tensor, ...]
    x: Tuple[Tensor, ...]
    domains: Tuple[Tuple[str, int], ...]
    img_hw: Tuple[Tuple[int, int], ...]
    input_hw: Tuple[int, int]

    def slices(self):
        start = 0
        for dom, n in self.domains:
            yield dom, slice(start, start + n)
            start += n


class DomainBatch(NamedTuple):
    """Source images with their samples; target images (None when absent) with samples whose
    annotations are stripped."""
    src: Tensor
    tgt: Optional[Tensor]
    src_samples: SampleList
    tgt_samples: SampleList


def split_domains(inputs: Dict[str, Tensor], samples: Dict[str, SampleList]) -> DomainBatch:
    """The ``source`` / ``target`` branches of a ``MultiBranch`` batch, target annotations
    removed; a batch without source images (or not two-domain) raises."""
    if not isinstance(inputs, dict):
        raise TypeError('DAFasterRCNN.loss expects a two-domain batch {"source", "target"} '
                        'built by MultiBranch pipelines (see configs/_base_/datasets/'
                        'synth_fog_da.py); got a plain tensor')
    src, src_samples = inputs.get('source'), samples.get('source') or []
    if src is None or len(src_samples) == 0:
        raise ValueError('DA batch has no source images: set source_ratio so that every '
                         'batch holds at least one labelled source image')
    tgt_samples = [strip_annotations(s) for s in samples.get('target') or []]
    tgt = inputs.get('target') if tgt_samples else None
    return DomainBatch(src, tgt, list(src_samples), tgt_samples)


def strip_annotations(sample):
    """Drop every annotation of a target image so nothing downstream can use it for a loss."""
    sample = copy.copy(sample)
    empty = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    sample.gt_instances = empty
    if 'ignored_instances' in sample:
        sample.ignored_instances = copy.deepcopy(empty)
    return sample


def class_agnostic(samples: SampleList) -> SampleList:
    """Copies of ``samples`` whose gt labels are all 0 (the RPN's one class); boxes shared."""
    out = []
    for s in samples:
        s = copy.copy(s)
        gt = s.gt_instances
        s.gt_instances = gt.new(bboxes=gt.bboxes, labels=torch.zeros_like(gt.labels))
        out.append(s)
    return out


def image_sizes(samples: SampleList, input_hw: Tuple[int, int]) -> Tuple[Tuple[int, int], ...]:
    """Each sample's ``img_shape`` (its size inside the padded batch); the whole input when a
    sample carries none."""
    out = []
    for s in samples:
        shape = s.metainfo.get('img_shape', input_hw)
        out.append((int(shape[0]), int(shape[1])))
    return tuple(out)


def concat_domains(src: Tensor, tgt: Optional[Tensor], samples: SampleList) -> Tensor:
    """Stack source and target images, zero-padding (bottom/right) to a common size."""
    if tgt is None:
        return src
    h = max(src.shape[-2], tgt.shape[-2])
    w = max(src.shape[-1], tgt.shape[-1])

    def pad(t):
        return F.pad(t, (0, w - t.shape[-1], 0, h - t.shape[-2]))
    for s in samples:
        s.set_metainfo(dict(batch_input_shape=(h, w)))
    return torch.cat([pad(src), pad(tgt)], dim=0)


def pass_groups(batch: DomainBatch, mode: str) -> List[tuple]:
    """``(images, ((domain, n), ...), samples)`` of each backbone pass: one joint padded batch
    (``mode='joint'`` or no target) or one per domain."""
    n_s, n_t = len(batch.src_samples), len(batch.tgt_samples)
    if mode == 'joint' or batch.tgt is None:
        samples = batch.src_samples + batch.tgt_samples
        imgs = concat_domains(batch.src, batch.tgt, samples)
        return [(imgs, tuple((d, n) for d, n in (('source', n_s), ('target', n_t)) if n),
                 samples)]
    return [(batch.src, (('source', n_s), ), batch.src_samples),
            (batch.tgt, (('target', n_t), ), batch.tgt_samples)]


def slice_out(out, sl: slice):
    """``out[sl]`` of a tensor or of every tensor in a tuple/list."""
    if isinstance(out, (tuple, list)):
        return type(out)(slice_out(o, sl) for o in out)
    return out[sl]


def parse_feats(spec: Union[str, Sequence[str]]) -> List[Tuple[str, int]]:
    """``'neck.0'`` or ``['backbone.2', ...]`` -> ``[('neck', 0), ...]``."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    out = []
    for s in specs:
        where, _, idx = str(s).partition('.')
        if where not in ('backbone', 'neck') or not idx.lstrip('-').isdigit():
            raise ValueError(f"feature spec {s!r} must look like 'backbone.<i>' or 'neck.<i>'")
        out.append((where, int(idx)))
    return out
