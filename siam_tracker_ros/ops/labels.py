"""Logistic label maps and the balanced logistic loss (spec §1.6)."""
import numpy as np
import torch
import torch.nn.functional as F


def logistic_labels(response_size: int, target_center, input_size: int, stride: int = 8,
                    radius: float = 16.0) -> np.ndarray:
    """±1 labels: +1 for cells whose centre is within `radius` px of the target centre.

    Cell (i, j) is centred at o + stride·(j, i) with o = (input_size−1)/2 − stride·⌊r/2⌋,
    in search-crop pixels; `target_center` is (tx, ty) in the same pixels.
    """
    origin = (input_size - 1) / 2 - stride * (response_size // 2)
    cells = origin + stride * np.arange(response_size)
    dx = cells[None, :] - target_center[0]
    dy = cells[:, None] - target_center[1]
    return np.where(np.hypot(dx, dy) <= radius, 1.0, -1.0).astype(np.float32)


def balanced_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-cell weights, 0.5/|P| on positives and 0.5/|N| on negatives, per map (sum 1).

    A map without positives gives its negatives 1/|N|, and vice versa.
    """
    flat = labels.reshape(labels.size(0), -1)
    pos = (flat > 0).float()
    neg = 1.0 - pos
    n_pos = pos.sum(1, keepdim=True)
    n_neg = neg.sum(1, keepdim=True)
    share_pos = torch.where(n_neg > 0, 0.5, 1.0) / n_pos.clamp(min=1)
    share_neg = torch.where(n_pos > 0, 0.5, 1.0) / n_neg.clamp(min=1)
    return (pos * share_pos + neg * share_neg).reshape(labels.shape)


def balanced_logistic_loss(logits: torch.Tensor, labels: torch.Tensor,
                           balanced: bool = True) -> torch.Tensor:
    """L = Σ_u w_u·log(1 + exp(−y_u·v_u)), averaged over the batch.

    With `balanced=False`, the plain mean over all cells (the papers' literal form).
    """
    per_cell = F.softplus(-labels * logits)
    if not balanced:
        return per_cell.mean()
    weights = balanced_weights(labels)
    return (weights * per_cell).reshape(labels.size(0), -1).sum(1).mean()
