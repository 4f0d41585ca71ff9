"""siam_gam network (spec §4): two independent Siamese subnets, R = (R_A + R_B)/2.

Subnet A: the SiamFC AlexNet, conv3–5 fusion (seed 001 Eqs. 1–2), then GAM.
Subnet B: the SiamFC AlexNet with an SE block after every conv.
Each subnet is a SiamFCNet (xcorr + its own adjust, §1.3) whose `backbone` is the subnet's whole
embedding, so a stub can replace it (GAM-6 / C9): `net.subnet_a.backbone = stub`.
"""
import torch
import torch.nn as nn

from siam_tracker_ros.models.alexnet import BN_EPS, BN_MOMENTUM, AlexNet, init_xavier
from siam_tracker_ros.models.attention import GlobalAttention, SqueezeExcitation
from siam_tracker_ros.models.siamfc_net import SiamFCNet

SUBNET_CHOICES = ('AB', 'A', 'B')


class MultiLayerFusion(nn.Module):
    """f = conv1×1(concat_i bn(mp(f_conv_i))) (seed 001 Eqs. 1–2; spec §4, GAM-4).

    Max-pooling conv3 with 5×5 s1 and conv4 with 3×3 s1 gives them the conv5 size; pooled cell
    (i, j) is centred on conv3 (i+2, j+2) and conv4 (i+1, j+1), which share conv5 (i, j)'s
    receptive-field centre. BN uses the AlexNet eps and momentum (F).
    """

    def __init__(self, channels=(384, 384, 256), pool_sizes=(5, 3, 1), out_channels=256):
        super().__init__()
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1) if k > 1 else nn.Identity()
                                   for k in pool_sizes)
        self.norms = nn.ModuleList(nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)
                                   for c in channels)
        self.reduce = nn.Conv2d(sum(channels), out_channels, 1)

    def forward(self, layers) -> torch.Tensor:
        if len(layers) != len(self.pools):
            raise ValueError(f'fusion takes {len(self.pools)} feature maps, got {len(layers)}')
        pooled = [norm(pool(f)) for f, pool, norm in zip(layers, self.pools, self.norms)]
        return self.reduce(torch.cat(pooled, dim=1))


class FusionAttentionAlexNet(nn.Module):
    """Subnet A embedding (spec §4): AlexNet conv3–5 → fusion → GAM (r = 4).

    `use_fusion=False` takes conv5 alone; `use_gam=False` leaves out the GAM.
    """

    stride = AlexNet.stride
    out_channels = AlexNet.out_channels

    def __init__(self, use_fusion: bool = True, use_gam: bool = True):
        super().__init__()
        self.alexnet = AlexNet()
        self.fusion = MultiLayerFusion() if use_fusion else None
        self.gam = GlobalAttention(self.out_channels, 4) if use_gam else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = self.alexnet.conv_outputs(x)
        features = self.fusion(layers) if self.fusion is not None else layers[-1]
        return self.gam(features) if self.gam is not None else features


class SEAlexNet(AlexNet):
    """Subnet B embedding (spec §4): AlexNet with an SE block (r = 16) after every conv.

    The SE block comes after the ReLU and before pooling; for conv5 after the linear conv
    (`se5`). AlexNet's state-dict keys are kept, so SiamFC AlexNet weights load with only the
    SE keys missing.
    """

    def __init__(self, reduction: int = 16):
        super().__init__()
        for block in (self.conv1[0], self.conv2[0], self.conv3, self.conv4):
            block.append(SqueezeExcitation(block[0].out_channels, reduction))
        self.se5 = SqueezeExcitation(self.out_channels, reduction)

    def conv_outputs(self, x):
        conv3, conv4, conv5 = super().conv_outputs(x)
        return conv3, conv4, self.se5(conv5)


class AveragedSubnets(nn.Module):
    """R = (R_A + R_B)/2 over the active subnets `subnet_a`, `subnet_b` (SiamFCNets).

    `shared(image)` is what every subnet's embedding takes: the image itself here (each
    subnet has its own network), the trunk's taps when a trunk is shared (TrunkGAMNet).
    template(z) -> (z_A, z_B); search(x) -> (x_A, x_B); head(...) -> B×1×r×r logits.
    """

    def __init__(self, subnets: str):
        super().__init__()
        if subnets not in SUBNET_CHOICES:
            raise ValueError(f'subnets must be one of {SUBNET_CHOICES}, got {subnets!r}')

    def shared(self, image: torch.Tensor):
        return image

    def active_subnets(self) -> list:
        """The subnets that run, A before B."""
        return [net for net in (self.subnet_a, self.subnet_b) if net is not None]

    def template(self, z: torch.Tensor) -> tuple:
        shared = self.shared(z)
        return tuple(net.template(shared) for net in self.active_subnets())

    def search(self, x: torch.Tensor) -> tuple:
        shared = self.shared(x)
        return tuple(net.search(shared) for net in self.active_subnets())

    def head(self, kernels: tuple, features: tuple) -> torch.Tensor:
        """Mean of the subnets' adjusted xcorr responses."""
        subnets = self.active_subnets()
        if len(kernels) != len(subnets) or len(features) != len(subnets):
            raise ValueError(f'expected {len(subnets)} template and search features (one per '
                             f'subnet), got {len(kernels)} and {len(features)}')
        responses = [net.head(k, f) for net, k, f in zip(subnets, kernels, features)]
        return sum(responses) / len(responses)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.template(z), self.search(x))


class SiamGAMNet(AveragedSubnets):
    """The paper's network (spec §4, GAM-5): two independent SiamFC AlexNet subnets.

    Ablations: `use_se`, `use_gam`, `use_fusion`; `subnets='A'` or `'B'` runs one subnet
    alone (the tuples then hold that subnet's features only, and R is its response).
    """

    stride = AlexNet.stride

    def __init__(self, use_se: bool = True, use_gam: bool = True, use_fusion: bool = True,
                 subnets: str = 'AB'):
        super().__init__(subnets)
        self.subnet_a = (SiamFCNet(FusionAttentionAlexNet(use_fusion, use_gam))
                         if 'A' in subnets else None)
        self.subnet_b = SiamFCNet(SEAlexNet() if use_se else AlexNet()) if 'B' in subnets else None


def build_siam_gam_net(**options) -> SiamGAMNet:
    """SiamGAMNet(**options) with Xavier-uniform convs (`init_xavier`) and FCs, zero biases."""
    net = SiamGAMNet(**options)
    init_xavier(net)
    for module in net.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return net
