"""The spec §1.2 crop on a torch tensor (`grid_sample`), so a GPU step can crop on the device.

Same window as `ops/crop.py` (`crop_window`: S = max(1, ⌊s + 0.5⌋),
x0 = ⌊cx − (S−1)/2 + 0.5⌋), same sampling: output pixel u reads window coordinate
(u + 0.5)·S/m − 0.5, bilinear, clamped to the window's first and last pixel (as `cv2.resize`
replicates the padded window's edge), and pixels outside the image take the padding colour.
Several windows of one image are cropped in one call (the scale pyramid).
"""
import torch
import torch.nn.functional as F

from siam_tracker_ros.ops.crop import crop_window


def upload(values, device=None, dtype=None) -> torch.Tensor:
    """`values` (array, tensor or numbers) as a tensor on `device`; to CUDA through pinned
    memory without a blocking copy, so a device step's only host sync is its result's."""
    tensor = torch.as_tensor(values, dtype=dtype)
    if device is not None and torch.device(device).type == 'cuda' and tensor.device.type == 'cpu':
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device) if device is not None else tensor


def image_tensor(image, device=None) -> torch.Tensor:
    """An H×W×3 uint8 image (numpy or tensor) as a 1×3×H×W float32 tensor on `device`
    (uploaded as uint8, converted there)."""
    tensor = upload(image, device)
    if tensor.dim() != 3 or tensor.shape[2] != 3:
        raise ValueError(f'image must be H×W×3, got shape {tuple(tensor.shape)}')
    return tensor.permute(2, 0, 1)[None].float()


def window_grid(windows, out_size: int, height: int, width: int, device) -> torch.Tensor:
    """N×m×m×2 `grid_sample` coordinates (align_corners=False) of the (x0, y0, S) windows,
    built on `device` in a fixed number of operations whatever N (one upload of 3N numbers)."""
    x0, y0, side = upload(windows, device, torch.float64).T[:, :, None]
    u = torch.arange(out_size, device=device, dtype=torch.float64)
    offset = torch.minimum(((u + 0.5) * side / out_size - 0.5).clamp_min(0), side - 1)
    xs = (x0 + offset + 0.5) * 2 / width - 1
    ys = (y0 + offset + 0.5) * 2 / height - 1
    shape = (len(windows), out_size, out_size)
    return torch.stack([xs[:, None, :].expand(shape), ys[:, :, None].expand(shape)],
                       dim=-1).float()


def crop_patches(image: torch.Tensor, centers, sizes, out_size: int, pad_color) -> torch.Tensor:
    """The windows of side `sizes[i]` around `centers[i]`, resized to out_size² (spec §1.2).

    Args:
        image: 1×3×H×W float tensor (`image_tensor`), on any device.
        centers: (cx, cy) per window, 0-based pixel-centre coordinates.
        sizes: window side per window, in image pixels.
        out_size: output side m.
        pad_color: per-channel colour outside the image (in the image's channel order), one
            for all windows or one per window (N×3).

    Returns:
        N×3×m×m float32 on the image's device, unrounded (`ops/crop.py` rounds to uint8).
    """
    if len(centers) != len(sizes):
        raise ValueError(f'{len(centers)} centres but {len(sizes)} sizes')
    height, width = image.shape[-2:]
    windows = [crop_window(c, s) for c, s in zip(centers, sizes)]
    grid = window_grid(windows, out_size, height, width, image.device)
    pad = upload(pad_color, image.device, image.dtype).view(-1, 3, 1, 1)
    shifted = (image - pad).expand(len(windows), -1, -1, -1)
    return F.grid_sample(shifted, grid, mode='bilinear', padding_mode='zeros',
                         align_corners=False) + pad
