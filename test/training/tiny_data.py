"""Tiny media folders, datasets in their real layouts and training configs, written into a
tmp_path; `siam_track` runs the command-line tool of this source tree."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

FRAME_SIZE = (240, 320)
REPO_ROOT = Path(__file__).resolve().parents[2]


def textured(rng, height, width) -> np.ndarray:
    """Smooth random colour texture (uint8 RGB)."""
    small = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3)).astype(np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def write_media(root: Path, seed: int = 0, corrupt: bool = True) -> Path:
    """`root/media/{stamps,backgrounds,videos}`: RGBA cut-outs, photos, one bad file each."""
    rng = np.random.default_rng(seed)
    media = Path(root) / 'media'
    for sub in ('stamps', 'backgrounds', 'videos'):
        (media / sub).mkdir(parents=True, exist_ok=True)
    for index in range(4):
        rgb = rng.integers(0, 256, (60, 50, 3)).astype(np.uint8)
        alpha = np.zeros((60, 50), np.uint8)
        cv2.ellipse(alpha, (25, 30), (22, 27), 0, 0, 360, 255, -1)
        bgra = np.dstack([rgb[:, :, ::-1], alpha])
        cv2.imwrite(str(media / 'stamps' / f'stamp{index}.png'), bgra)
    for index in range(3):
        cv2.imwrite(str(media / 'backgrounds' / f'bg{index}.jpg'), textured(rng, 480, 640))
    if corrupt:
        (media / 'stamps' / 'broken.png').write_bytes(b'not a png')
        (media / 'backgrounds' / 'broken.jpg').write_bytes(b'\xff\xd8 truncated')
    return media


def _frames(folder: Path, count: int, rng, boxes, ext='.jpg', digits=8, start=1):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        image = textured(rng, *FRAME_SIZE)
        x, y, w, h = (int(v) for v in boxes[index])
        image[y:y + h, x:x + w] = (0, 0, 255)   # red in OpenCV's BGR order
        cv2.imwrite(str(folder / f'{index + start:0{digits}d}{ext}'), image)


def copy_clip(sot_dir: Path, name: str, dest: Path, frames: int) -> Path:
    """The first `frames` frames of a real dev sequence and their ground truth (OTB layout),
    as `dest`."""
    (dest / 'img').mkdir(parents=True)
    for image in sorted((sot_dir / name / 'img').iterdir())[:frames]:
        shutil.copyfile(image, dest / 'img' / image.name)
    lines = (sot_dir / name / 'groundtruth_rect.txt').read_text().splitlines()[:frames]
    (dest / 'groundtruth_rect.txt').write_text('\n'.join(lines) + '\n')
    return dest


def track_boxes(count: int) -> np.ndarray:
    """0-based boxes of a 40×30 target moving right by 3 px per frame."""
    return np.array([[60 + 3 * i, 80, 40, 30] for i in range(count)], np.float64)


def write_otb(root: Path, count: int = 6) -> Path:
    rng = np.random.default_rng(1)
    boxes = track_boxes(count)
    folder = Path(root) / 'otb' / 'Walker'
    _frames(folder / 'img', count, rng, boxes, digits=4)
    np.savetxt(folder / 'groundtruth_rect.txt', boxes + [1, 1, 0, 0], fmt='%d', delimiter=',')
    return folder.parent


def write_got10k(root: Path, count: int = 6) -> Path:
    rng = np.random.default_rng(2)
    boxes = track_boxes(count)
    split = Path(root) / 'got10k' / 'train'
    folder = split / 'GOT-10k_Train_000001'
    _frames(folder, count, rng, boxes)
    np.savetxt(folder / 'groundtruth.txt', boxes, fmt='%.4f', delimiter=',')
    (folder / 'absence.label').write_text('\n'.join(['0'] * (count - 1) + ['1']) + '\n')
    (folder / 'cover.label').write_text('\n'.join(['8'] * count) + '\n')
    (split / 'list.txt').write_text(folder.name + '\n')
    return split.parent


def write_lasot(root: Path, count: int = 6) -> Path:
    rng = np.random.default_rng(3)
    boxes = track_boxes(count)
    folder = Path(root) / 'lasot' / 'cat' / 'cat-1'
    _frames(folder / 'img', count, rng, boxes)
    np.savetxt(folder / 'groundtruth.txt', boxes + [1, 1, 0, 0], fmt='%d', delimiter=',')
    (folder / 'full_occlusion.txt').write_text(','.join(['0'] * count) + '\n')
    (folder / 'out_of_view.txt').write_text(','.join(['0'] * count) + '\n')
    return folder.parents[1]


VID_XML = """<annotation><folder>{folder}</folder><filename>{name}</filename>
<size><width>320</width><height>240</height></size>{objects}</annotation>"""
VID_OBJECT = """<object><trackid>{tid}</trackid><name>n02084071</name>
<bndbox><xmax>{xmax}</xmax><xmin>{xmin}</xmin><ymax>{ymax}</ymax><ymin>{ymin}</ymin></bndbox>
<occluded>0</occluded><generated>0</generated></object>"""


def write_ilsvrc_vid(root: Path, count: int = 6) -> Path:
    """One train snippet with track 0 in every frame and track 1 in the first half only."""
    rng = np.random.default_rng(4)
    boxes = track_boxes(count)
    base = Path(root) / 'ILSVRC2015'
    snippet = 'ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'
    data = base / 'Data' / 'VID' / 'train' / snippet
    anno = base / 'Annotations' / 'VID' / 'train' / snippet
    anno.mkdir(parents=True)
    _frames(data, count, rng, boxes, ext='.JPEG', digits=6, start=0)
    for index in range(count):
        x, y, w, h = boxes[index]
        objects = VID_OBJECT.format(tid=0, xmin=int(x), ymin=int(y), xmax=int(x + w - 1),
                                    ymax=int(y + h - 1))
        if index < count // 2:
            objects += VID_OBJECT.format(tid=1, xmin=10, ymin=10, xmax=49, ymax=39)
        (anno / f'{index:06d}.xml').write_text(
            VID_XML.format(folder=snippet, name=f'{index:06d}', objects=objects))
    return Path(root)


def train_config(root: Path, **fields) -> dict:
    """A tiny `train:` config: one CPU epoch of two synthetic pairs from `root/media` (see
    write_media), output in `root/runs`. `fields` override train fields; a dict merges into
    the default's dict at any depth, None removes a field."""
    root = Path(root)
    train = {'name': 'tiny', 'tracker': 'siamfc', 'device': 'cpu', 'threads': 1, 'epochs': 1,
             'pairs_per_epoch': 2, 'batch_size': 2, 'optimizer': 'sgd', 'lr_start': 1e-3,
             'lr_end': 1e-3, 'out_dir': str(root / 'runs'),
             'data': {'cache_dir': str(root), 'synthetic': 1.0}}
    return {'train': _merged(train, fields)}


def _merged(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merged(base[key], value)
        else:
            merged[key] = value
    return merged


def write_train_config(root: Path, filename: str = 'train.yaml', **fields) -> Path:
    """`train_config(root, **fields)` written to `root/filename`."""
    path = Path(root) / filename
    path.write_text(yaml.safe_dump(train_config(root, **fields), sort_keys=False))
    return path


def siam_track(*args, env=None) -> str:
    """`siam-track ARGS` of this source tree in a child process; its stdout (fails on an error
    exit). `env`: variables added to the environment."""
    result = subprocess.run([sys.executable, '-m', 'siam_tracker_ros.cli.main', *args],
                            cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
