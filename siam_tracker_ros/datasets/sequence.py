"""The one sequence type every dataset reader returns."""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Sequence:
    """A video with one annotated target.

    Attributes:
        name: sequence name, unique within its dataset.
        frames: image file paths, in order.
        boxes: (N, 4) float64, 0-based `xywh`; rows are NaN where the box is unknown.
        absent: (N,) bool, True where the target is not visible (GOT-10k absence, LaSOT
            full occlusion / out of view); None when the dataset has no such labels.
        polygons: (N, 8) float64 VOT polygons (0-based) when the dataset has them, else None.
        attributes: challenge attribute names (e.g. OTB 'IV', 'SV'), may be empty.
        extra: per-frame arrays a dataset adds (e.g. GOT-10k 'cover'); keys documented by the reader.
    """

    name: str
    frames: tuple
    boxes: np.ndarray
    absent: Optional[np.ndarray] = None
    polygons: Optional[np.ndarray] = None
    attributes: tuple = ()
    extra: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.frames)
