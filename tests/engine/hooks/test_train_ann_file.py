"""TrainAnnFileHook: losses configured with ``ann_file='train_dataset'`` read the training
dataset's annotation file (through dataset wrappers)."""
import json
from types import SimpleNamespace

import pytest
import torch

import hce_det  # noqa: F401
from hce_det.engine.hooks import TrainAnnFileHook
from hce_det.models.long_tail import DropLoss

pytestmark = pytest.mark.usefixtures('one_thread')


def _lvis_like(path):
    # 4 images, 3 of them annotated; category 7 in 2 images, category 9 in 1
    path.write_text(json.dumps(dict(
        images=[{'id': i} for i in range(1, 5)],
        annotations=[dict(id=1, image_id=1, category_id=7), dict(id=2, image_id=2, category_id=7),
                     dict(id=3, image_id=3, category_id=9)],
        categories=[{'id': 7, 'image_count': 2}, {'id': 9, 'image_count': 1}])))
    return str(path)


def test_train_ann_file_hook_follows_the_train_dataset(tmp_path):
    (tmp_path / 'moved_root').mkdir()
    ann = _lvis_like(tmp_path / 'moved_root' / 'train.json')
    model = torch.nn.Module()
    model.loss_cls = DropLoss(num_classes=2, ann_file='train_dataset',
                              num_images_from='annotated')
    with pytest.raises(ValueError, match='TrainAnnFileHook'):
        model.loss_cls.stats.counts()
    # RFS wrapper around the dataset, as in the LVIS configs
    dataset = SimpleNamespace(dataset=SimpleNamespace(ann_file=ann))
    logs = []
    runner = SimpleNamespace(train_dataloader=SimpleNamespace(dataset=dataset), model=model,
                             logger=SimpleNamespace(info=logs.append))
    TrainAnnFileHook().before_train(runner)
    assert model.loss_cls.stats.ann_file == ann and logs
    assert model.loss_cls.stats.counts().tolist() == [2.0, 1.0]
