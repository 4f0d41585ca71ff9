"""Joint DSiam training over a video clip with BPTT (spec §3 "Training: joint training").

Frame 1 gives O₁ at the ground truth, with V and W off. Each later frame t is cropped, at one
scale, around the previous prediction (the detached argmax of S_{t−1}) with side s_x from the
ground-truth size at t−1; S_t is scored against ±1 labels at the ground-truth centre; then
V_t and W_t are learned from O_t, G_t and Ḡ_t cropped at the predicted centre. The loss is
the sum of the frames' (balanced) logistic losses; autograd carries the gradients through
RLR and CirConv (torch.fft) to the backbone, Υ and log λ.

`BPTT_CLIPS` is the registry's objective for `dsiam`: one clip per step (spec §3), of
`batch_size` frames (the training config's batch size is the clip length), from the clip
sources of the training mixture (`training/clips.py`). A clip cannot be shared by several
training processes: distributed training refuses this objective (`per_sample=False`).
"""
import numpy as np
import torch

from siam_tracker_ros.models.weights import InputFormat
from siam_tracker_ros.ops.boxes import xywh_to_cxcywh
from siam_tracker_ros.ops.crop import crop_patch, crop_window, image_mean_color, template_side
from siam_tracker_ros.ops.labels import balanced_logistic_loss
from siam_tracker_ros.ops.windows import dsiam_search_mask
from siam_tracker_ros.runtime import to_input
from siam_tracker_ros.trackers.dsiam_update import update_patches
from siam_tracker_ros.training.clips import draw_clip
from siam_tracker_ros.training.models import tracker_config
from siam_tracker_ros.training.objectives import Objective, label_maps


def crop_point(point, center, side: float, out_size: int) -> tuple:
    """An image point in the pixels of `crop_patch(image, center, side, out_size)`."""
    x0, y0, window = crop_window(center, side)
    scale = out_size / window
    return ((point[0] - x0 + 0.5) * scale - 0.5, (point[1] - y0 + 0.5) * scale - 0.5)


def image_point(point, center, side: float, out_size: int) -> tuple:
    """The inverse of `crop_point`: crop pixels back to image pixels."""
    x0, y0, window = crop_window(center, side)
    scale = window / out_size
    return ((point[0] + 0.5) * scale - 0.5 + x0, (point[1] + 0.5) * scale - 0.5 + y0)


def peak_point(response: torch.Tensor, input_size: int, stride: int) -> tuple:
    """Search-crop pixel (x, y) of the first argmax cell of a 1×1×r×r response (spec §1.6)."""
    size = response.shape[-1]
    row, col = divmod(int(torch.argmax(response.detach().reshape(-1))), size)
    origin = (input_size - 1) / 2 - stride * (size // 2)
    return origin + stride * col, origin + stride * row


def clip_loss(net, frames, boxes, input_format: InputFormat = InputFormat(), *,
              exemplar_size: int = 127, instance_size: int = 255, radius: float = 16.0,
              balanced: bool = True, learn_v: bool = True, learn_w: bool = True) -> torch.Tensor:
    """Σ_{t≥2} logistic loss of S_t over one clip (spec §3, Eq. 10), differentiable.

    Args:
        net: a DSiamNet (its train/eval mode is the caller's choice).
        frames: T ≥ 2 RGB uint8 images H×W×3.
        boxes: T ground-truth 0-based `xywh` boxes.
        learn_v, learn_w: learn V / W after each frame (off: that transform stays off, the
            tracker's `update_v` / `update_w` ablation switches).
    """
    if len(frames) < 2 or len(frames) != len(boxes):
        raise ValueError(f'a clip needs T ≥ 2 frames and one box per frame; got '
                         f'{len(frames)} frames and {len(boxes)} boxes')
    device = next(net.parameters()).device
    targets = [xywh_to_cxcywh(box) for box in boxes]
    pad, mask = image_mean_color(frames[0]), dsiam_search_mask(instance_size)

    def embed(embedder, patch):
        return embedder(to_input(patch[None], device, torch.float32, input_format))

    cx, cy, w, h = targets[0]
    first = embed(net.template, crop_patch(frames[0], (cx, cy), template_side(w, h),
                                           exemplar_size, pad))
    center, v_hat, w_hat, total = (cx, cy), None, None, 0.0
    for t in range(1, len(frames)):
        s_z = template_side(*targets[t - 1][2:])
        s_x = s_z * instance_size / exemplar_size
        search = crop_patch(frames[t], center, s_x, instance_size, pad)
        response = net.head(first, embed(net.search, search), v_hat, w_hat)
        truth = crop_point(targets[t][:2], center, s_x, instance_size)
        labels = label_maps([truth], response.shape[-1], instance_size, net.stride, radius)
        total = total + balanced_logistic_loss(response, labels.to(device), balanced)
        peak = peak_point(response, instance_size, net.stride)
        height, width = frames[t].shape[:2]
        center = tuple(np.clip(image_point(peak, center, s_x, instance_size), 0,
                               [width - 1, height - 1]))
        if t + 1 < len(frames) and (learn_v or learn_w):  # the last frame's would be unused
            o_t, g_t, masked = update_patches(frames[t], center, s_z, s_x, pad, mask,
                                              exemplar_size, instance_size)
            if learn_v:
                v_hat = net.learn_v(first, embed(net.template, o_t))
            if learn_w:
                w_hat = net.learn_w(embed(net.search, g_t), embed(net.search, masked))
    return total


def draw_clip_batch(mixture, rngs, input_format, device):
    """One training clip, drawn from the batch's shared stream, of as many frames as the
    batch has samples: (frames, boxes, input_format)."""
    frames, boxes = draw_clip(mixture, rngs.shared, len(rngs.samples))
    return frames, boxes, input_format


def clip_batch_loss(net, batch, train) -> torch.Tensor:
    """`clip_loss` of one clip with the training config's label radius and balancing, and
    the tracker config's `update_v` / `update_w` (with `tracker_settings` over it).

    BatchNorm layers keep their statistics (eval mode): every forward here is a single crop,
    too few samples for batch statistics when fine-tuning from SiamFC.
    """
    frames, boxes, input_format = batch
    for module in net.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()
    settings = tracker_config(train)
    return clip_loss(net, frames, boxes, input_format, radius=train.label_radius,
                     balanced=train.balanced_loss, learn_v=settings.update_v,
                     learn_w=settings.update_w)


BPTT_CLIPS = Objective(make_batch=draw_clip_batch, loss=clip_batch_loss, per_sample=False)
