"""Loading of the still/cut-out/video media used by the synthetic sources.

Unreadable or missing files are skipped and counted in a `SkipCounter`, never fatal.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

CATEGORY_INDEX = 'categories.tsv'   # written by scripts/fetch_training_data.sh
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mkv', '.mov')


@dataclass
class SkipCounter:
    """Counts skipped inputs; keeps the first few reasons for the log."""

    count: int = 0
    reasons: list = field(default_factory=list)

    def skip(self, path, why: str) -> None:
        self.count += 1
        if len(self.reasons) < 20:
            self.reasons.append(f'{path}: {why}')


def read_rgb(path, skipped: SkipCounter, max_side: int = 1024):
    """Read an image as RGB uint8 (longest side ≤ max_side), or None if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        skipped.skip(path, 'missing or not a readable image')
        return None
    return _limit(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), max_side)


def read_rgba(path, skipped: SkipCounter, max_side: int = 400):
    """Read an RGBA cut-out (RGB uint8, alpha float32 in [0, 1]), or None."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        skipped.skip(path, 'missing, unreadable or without alpha')
        return None
    image = _limit(image, max_side)
    rgb = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)
    return rgb, image[:, :, 3].astype(np.float32) / 255.0


def _limit(image: np.ndarray, max_side: int) -> np.ndarray:
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def is_photo_like(rgb: np.ndarray, alpha: np.ndarray, min_colors: int = 1500) -> bool:
    """Colour-count test: photo cut-outs have many distinct colours, clip-art few."""
    opaque = rgb[alpha > 0.5]
    if len(opaque) < 400:
        return False
    quantised = (opaque >> 2).astype(np.int32)
    codes = (quantised[:, 0] << 12) | (quantised[:, 1] << 6) | quantised[:, 2]
    return len(np.unique(codes)) >= min_colors


class Cutout(NamedTuple):
    """An RGBA cut-out cropped to its alpha box; `category` is its kind, '' when unknown."""

    rgb: np.ndarray
    alpha: np.ndarray
    category: str = ''


def stamp_category(folder: str) -> str:
    """The kind of a stamp from its folder: the first two levels, 'cartoon' ignored.

    'animals/mammals/bovines' → 'animals/mammals'; 'food/fruit/cartoon' → 'food/fruit'.
    """
    parts = [part for part in folder.split('/') if part and part != 'cartoon']
    return '/'.join(parts[:2])


def read_categories(folder) -> dict:
    """{file name: category} from `folder`/categories.tsv, or {} when there is none."""
    index = Path(folder) / CATEGORY_INDEX
    if not index.is_file():
        return {}
    pairs = (line.split('\t') for line in index.read_text().splitlines() if '\t' in line)
    return {name: stamp_category(stamp_folder) for name, stamp_folder in pairs}


def load_cutouts(folder, skipped: SkipCounter, photo_only: bool = True, min_side: int = 24):
    """All RGBA cut-outs in `folder` (`Cutout`s), cropped to their alpha bounding box."""
    categories = read_categories(folder)
    cutouts = []
    for path in sorted(Path(folder).glob('*.png')):
        item = read_rgba(path, skipped)
        if item is None:
            continue
        rgb, alpha = item
        ys, xs = np.nonzero(alpha > 0.5)
        if len(xs) == 0:
            skipped.skip(path, 'empty alpha')
            continue
        rgb = rgb[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        alpha = alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        if min(alpha.shape) < min_side or (photo_only and not is_photo_like(rgb, alpha)):
            continue
        cutouts.append(Cutout(rgb, alpha, categories.get(path.name, '')))
    return cutouts


def load_images(folder, skipped: SkipCounter, max_side: int = 1024):
    """All readable images in `folder` (RGB uint8)."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    images = [read_rgb(p, skipped, max_side) for p in paths]
    return [im for im in images if im is not None]


def load_video_frames(folder, skipped: SkipCounter, every: int = 10, max_side: int = 768,
                      max_per_video: int = 60):
    """Every `every`-th frame of each video in `folder` (RGB uint8)."""
    frames = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        capture = cv2.VideoCapture(str(path))
        index, taken = 0, 0
        while taken < max_per_video:
            ok, frame = capture.read()
            if not ok:
                break
            if index % every == 0:
                frames.append(_limit(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), max_side))
                taken += 1
            index += 1
        capture.release()
        if taken == 0:
            skipped.skip(path, 'no decodable frames')
    return frames
