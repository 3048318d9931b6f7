"""Domain discriminators of DA-Faster (Chen et al., CVPR 2018) and SW-Faster (Saito et al.,
CVPR 2019) with the layer sizes of megvii-research/CR-DA-DET (``DA.py``, SW ``vgg16.py``).

Convention used by every module here: domain label 1 = source, 0 = target; each discriminator
owns a gradient reversal layer, so its loss trains it and *reverses* into the detector.

Padding: every image-level statistic takes an optional ``valid`` mask (N, h, w) of each image's
non-padded area (:mod:`.valid_area`); per-pixel losses and pooled vectors then average over that
area per image and the images are averaged with equal weight (without padding: the plain mean).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet.registry import MODELS
from ..layers.grl import GradientReversal
from .valid_area import masked_mean, rescale_valid_mask


def _normal_init(module: nn.Module, std: float) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def focal_domain_loss(logits: Tensor, labels: Tensor, gamma: float = 5.0) -> Tensor:
    """Softmax focal loss ``-(1 - p_y)^gamma log p_y`` averaged over images (Lin et al. 2017;
    SW-Faster weak global alignment uses gamma = 5, CR-DA-DET ``net_utils.FocalLoss``)."""
    logp = F.log_softmax(logits, dim=1).gather(1, labels.view(-1, 1)).squeeze(1)
    return (-(1 - logp.exp()).pow(gamma) * logp).mean()


class _Discriminator(BaseModule):
    """Base: holds the GRL; ``grl_scale`` (set by the detector / a hook) multiplies ``grl_coeff``."""

    def __init__(self, grl_coeff: float, loss_weight: float, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.grl = GradientReversal(grl_coeff)
        self.grl_coeff = float(grl_coeff)
        self.loss_weight = float(loss_weight)

    def set_grl_scale(self, scale: float) -> None:
        self.grl.coeff = self.grl_coeff * float(scale)


@MODELS.register_module()
class ImageDomainDiscriminator(_Discriminator):
    """DA-Faster image-level discriminator: GRL, 1x1 conv C->512, ReLU, 1x1 conv 512->2, per-pixel
    2-way cross-entropy (CR-DA-DET ``_ImageDA``; init N(0, 0.01))."""

    def __init__(self, in_channels: int, feat_channels: int = 512, grl_coeff: float = 0.1,
                 loss_weight: float = 0.1, init_cfg=None) -> None:
        super().__init__(grl_coeff, loss_weight, init_cfg)
        self.conv1 = nn.Conv2d(in_channels, feat_channels, 1)
        self.conv2 = nn.Conv2d(feat_channels, 2, 1)
        _normal_init(self, 0.01)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> per-pixel domain logits (N, 2, H, W)."""
        return self.conv2(F.relu(self.conv1(self.grl(x))))

    @staticmethod
    def loss(logits: Tensor, domain: int, valid: Optional[Tensor] = None) -> Tensor:
        """Mean per-pixel cross-entropy against the constant ``domain`` label; with ``valid``
        the mean over each image's valid pixels, averaged over images."""
        labels = logits.new_full((logits.size(0), ) + logits.shape[2:], domain, dtype=torch.long)
        if valid is None:
            return F.cross_entropy(logits, labels)
        return masked_mean(F.cross_entropy(logits, labels, reduction='none'), valid).mean()

    @staticmethod
    def source_prob_per_image(logits: Tensor, valid: Optional[Tensor] = None) -> Tensor:
        """Mean over (valid) pixels of P(source), one value per image (for the consistency
        term)."""
        if valid is None:
            return F.softmax(logits, dim=1)[:, 1].flatten(1).mean(1)
        return masked_mean(F.softmax(logits, dim=1)[:, 1], valid)


@MODELS.register_module()
class InstanceDomainDiscriminator(_Discriminator):
    """DA-Faster instance-level discriminator on RoI features: GRL, FC C->1024, ReLU, Dropout 0.5,
    FC 1024->1024, ReLU, Dropout 0.5, FC 1024->1 (CR-DA-DET ``_InstanceDA``; init N(0, 0.01),
    last layer N(0, 0.05)). Returns logits; the loss is (weighted) sigmoid BCE."""

    def __init__(self, in_channels: int, feat_channels: int = 1024, dropout: float = 0.5,
                 grl_coeff: float = 0.1, loss_weight: float = 0.1, init_cfg=None) -> None:
        super().__init__(grl_coeff, loss_weight, init_cfg)
        self.in_channels = in_channels
        self.layers = nn.Sequential(
            nn.Linear(in_channels, feat_channels), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(feat_channels, feat_channels), nn.ReLU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(feat_channels, 1)
        _normal_init(self.layers, 0.01)
        _normal_init(self.classifier, 0.05)

    def forward(self, x: Tensor) -> Tensor:
        """(R, C) -> (R,) logits of P(source)."""
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f'InstanceDomainDiscriminator expects (R, {self.in_channels}) RoI '
                             f'features, got {tuple(x.shape)}; set ins_da.in_channels to the '
                             'bbox head fc_out_channels (+ context dims)')
        return self.classifier(self.layers(self.grl(x))).squeeze(1)

    @staticmethod
    def loss(logits: Tensor, domain: int, weight: Optional[Tensor] = None) -> Tensor:
        """``mean(w * BCE)`` over RoIs (CCR weights are not renormalized, CR-DA-DET)."""
        if logits.numel() == 0:
            return logits.sum() * 0
        target = torch.full_like(logits, float(domain))
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight)


@MODELS.register_module()
class LocalDomainDiscriminator(_Discriminator):
    """SW-Faster strong local alignment on a shallow feature: 1x1 convs C->256->128->1, sigmoid,
    least-squares loss ``0.5 * mean((D - d)^2)`` (CR-DA-DET SW ``netD_pixel``; GRL 1.0).
    With ``context=True`` also returns a 128-d context vector (global average of the 128-ch map).

    The reference has two versions (VisionLearningGroup/DA_Detection and CR-DA-DET SW code):
    ResNet ``netD_pixel`` reads the feature as is, convs init N(0, 0.01) (the defaults here);
    VGG16 ``netD_pixel`` applies ReLU to the feature it reads and keeps PyTorch's default conv
    init (``input_relu=True, init_std=None``, set in the VGG16 configs).

    Args:
        input_relu: ReLU on the input feature (after the GRL), as the VGG16 reference.
        init_std: N(0, std) init of the convs; None keeps PyTorch's default init.
    """

    def __init__(self, in_channels: int, grl_coeff: float = 1.0, loss_weight: float = 0.5,
                 input_relu: bool = False, init_std: Optional[float] = 0.01,
                 init_cfg=None) -> None:
        super().__init__(grl_coeff, loss_weight, init_cfg)
        self.input_relu = bool(input_relu)
        self.conv1 = nn.Conv2d(in_channels, 256, 1, bias=False)
        self.conv2 = nn.Conv2d(256, 128, 1, bias=False)
        self.conv3 = nn.Conv2d(128, 1, 1, bias=False)
        if init_std is not None:
            _normal_init(self, init_std)
        self.context_channels = 128

    def forward(self, x: Tensor, reverse: bool = True,
                valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """-> (per-pixel P(source) (N, 1, H, W), context vector (N, 128)); the context is the
        mean over the ``valid`` area when given."""
        x = self.grl(x) if reverse else x
        if self.input_relu:
            x = F.relu(x)
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        ctx = h.mean(dim=(2, 3)) if valid is None else masked_mean(h, valid)
        return torch.sigmoid(self.conv3(h)), ctx

    @staticmethod
    def loss(prob: Tensor, domain: int, valid: Optional[Tensor] = None) -> Tensor:
        """Mean per-pixel squared error; with ``valid`` over each image's valid pixels,
        averaged over images."""
        if valid is None:
            return (prob - float(domain)).pow(2).mean()
        return masked_mean((prob - float(domain)).pow(2).squeeze(1), valid).mean()


@MODELS.register_module()
class GlobalDomainDiscriminator(_Discriminator):
    """SW-Faster weak global alignment on the deep feature: three 3x3 stride-2 convs
    (C->512->128->128) with BN, ReLU and dropout, average pool, FC 128->2; focal loss gamma = 5
    (CR-DA-DET SW ``netD``; GRL 1.0). Also returns the 128-d pooled context vector.

    Init: PyTorch's default (``init_std=None``), as the reference ``netD`` (VGG16 and ResNet
    versions of DA_Detection / CR-DA-DET SW code never re-initialise it); a float gives
    N(0, std) convs/FC with zero bias (this package's earlier default, 0.01).
    """

    def __init__(self, in_channels: int, gamma: float = 5.0, dropout: float = 0.5,
                 grl_coeff: float = 1.0, loss_weight: float = 0.5,
                 init_std: Optional[float] = None, init_cfg=None) -> None:
        super().__init__(grl_coeff, loss_weight, init_cfg)
        chans = (in_channels, 512, 128, 128)
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1, bias=False)
            for i in range(3))
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in chans[1:])
        self.fc = nn.Linear(128, 2)
        self.gamma, self.dropout = float(gamma), float(dropout)
        if init_std is not None:
            _normal_init(self, init_std)
        self.context_channels = 128

    def forward(self, x: Tensor, reverse: bool = True,
                valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """-> (image domain logits (N, 2), context vector (N, 128)). ``valid`` (N, H, W) marks
        each image's non-padded input area: the average pool then covers only the cells of the
        final map that start inside it (border cells still read padded neighbours through the
        3x3 convs, and BatchNorm statistics include padded cells, as in any padded batch)."""
        x = self.grl(x) if reverse else x
        for conv, bn in zip(self.convs, self.bns):
            x = conv(x)
            if self.training and x.size(0) * x.size(2) * x.size(3) == 1:
                raise ValueError(
                    f'GlobalDomainDiscriminator: BatchNorm would see one value per channel '
                    f'(input {tuple(x.shape)}: one image, 1x1 map after the stride-2 convs); '
                    'give it larger feature maps or more images per forward (e.g. '
                    "domain_forward='joint')")
            x = F.dropout(F.relu(bn(x)), p=self.dropout, training=self.training)
        ctx = x.mean(dim=(2, 3)) if valid is None else \
            masked_mean(x, rescale_valid_mask(valid, x.shape[-2:]))
        return self.fc(ctx), ctx

    def loss(self, logits: Tensor, domain: int) -> Tensor:
        labels = logits.new_full((logits.size(0), ), domain, dtype=torch.long)
        return focal_domain_loss(logits, labels, self.gamma)
