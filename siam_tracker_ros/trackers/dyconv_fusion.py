"""`dyconv_fusion`: ResNeSt + dynamic conv + CBAM + shallow/deep fusion (Hu, Yu, Linghu; spec
§5), decoded by the SiamFC-family decoder of §1.4 at r = 25 (U = 400).

The network is `models/dyconv_fusion_net.py`; the trunk is the paper's dilated ResNeSt-50 or
the ImageNet MobileNetV2 one (docs/trackers/dyconv_fusion.md). Training anneals the dynamic
convolutions' temperature τ from 30 to 1 over the first 10 epochs (§5; shorter runs
anneal faster, `anneal_epochs`). A siamfc MobileNetV2 weights file warm-starts the MobileNetV2
variant (`siamfc_warm_start`).
"""
import dataclasses
from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path

from siam_tracker_ros.models.dynamic_conv import dynamic_temperature, set_temperature
from siam_tracker_ros.models.dyconv_fusion_net import TRUNKS, DyConvFusionNet
from siam_tracker_ros.models.dyconv_warm_start import siamfc_warm_start
from siam_tracker_ros.models.pretrained_backbones import MOBILENETV2_FILE
from siam_tracker_ros.models.resnest import RESNEST50_FILE
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.training.objectives import LOGISTIC_PAIRS
from siam_tracker_ros.trackers.pyramid import PyramidConfig, ScalePyramidTracker

# ImageNet trunk file of each trunk in a pretrained-weights folder (training's `pretrained`).
TRUNK_FILES = {'resnest50': RESNEST50_FILE, 'mobilenetv2': MOBILENETV2_FILE}


@dataclass(frozen=True)
class DyConvFusionConfig(PyramidConfig):
    """dyconv_fusion settings (config/dyconv_fusion.yaml): the SiamFC-family fields, the trunk
    and the ablation switches of §5 (dynamic stages 1–3, CBAM per stage, shallow/deep fusion)."""

    CHOICES: ClassVar[dict] = {'trunk': tuple(TRUNKS)}

    trunk: str
    use_dynamic: bool
    use_cbam: bool
    use_fusion: bool


def build_dyconv_fusion_net(config, backbone=None, pretrained_dir=None) -> DyConvFusionNet:
    """DyConvFusionNet on trunk `backbone` (the weights file's), else the config's trunk.

    With `pretrained_dir`, the trunk's ImageNet file there (`TRUNK_FILES`) initialises the
    trunk, and the dynamic kernels start from its static kernels (§5).
    """
    trunk = backbone or config.trunk
    if trunk not in TRUNK_FILES:
        raise ValueError(f'unknown dyconv_fusion trunk {trunk!r}; known: '
                         f'{", ".join(sorted(TRUNK_FILES))}')
    weights = Path(pretrained_dir) / TRUNK_FILES[trunk] if pretrained_dir else None
    return DyConvFusionNet(trunk, weights, use_dynamic=config.use_dynamic,
                           use_cbam=config.use_cbam, use_fusion=config.use_fusion)


ANNEAL_EPOCHS = 10     # §5: τ reaches 1 at epoch 10
FINAL_EPOCHS_AT_ONE = 2


def anneal_epochs(total_epochs: int) -> int:
    """Epochs over which τ falls 30 → 1: §5's 10, or fewer in a shorter run so that its last
    `FINAL_EPOCHS_AT_ONE` epochs train at the inference τ = 1 (0: τ = 1 from the start)."""
    return max(min(ANNEAL_EPOCHS, total_epochs - FINAL_EPOCHS_AT_ONE), 0)


def anneal_temperature(net, epoch: int, train_config) -> None:
    """Before each epoch: τ of every dynamic conv from the §5 schedule (30 → 1 by epoch 10,
    earlier in runs shorter than 12 epochs)."""
    span = anneal_epochs(train_config.epochs)
    set_temperature(net, dynamic_temperature(epoch, anneal_epochs=span) if span else 1.0)


register(TrackerEntry(
    name='dyconv_fusion', tracker_class=ScalePyramidTracker, config_class=DyConvFusionConfig,
    build_net=build_dyconv_fusion_net,
    objective=dataclasses.replace(LOGISTIC_PAIRS, start_epoch=anneal_temperature),
    weight_sources=('siamfc',), adapt_state=siamfc_warm_start,
    summary='ResNeSt/MobileNetV2 + dynamic conv + CBAM + shallow/deep fusion, 25x25 map'))
