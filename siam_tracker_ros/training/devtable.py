"""Dev-set table for weights files: per-sequence one-pass success AUC, as Markdown.

`python -m siam_tracker_ros.training.devtable --root ../shared/data/sot W1.pt [W2.pt ...]`

Each file runs inside the tracker it was trained for (its `tracker` field), built by
`build_tracker` like everywhere else: full sequences, CPU.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.models.weights import load_weights
from siam_tracker_ros.training.validate import evaluate, load_sequences


def dev_scores(path, root, max_frames: int = 0) -> dict:
    """{sequence: AUC, 'mean': AUC, 'seconds': wall time} of one weights file."""
    tracker = build_tracker(load_weights(path)['tracker'], weights=path)
    start = time.time()
    scores = evaluate(tracker, load_sequences(root, max_frames))
    scores['seconds'] = time.time() - start
    return scores


def markdown(results: dict) -> str:
    """Rows: sequences + mean; columns: one per weights file."""
    names = list(results)
    sequences = [k for k in next(iter(results.values())) if k not in ('mean', 'seconds')]
    lines = ['| sequence | ' + ' | '.join(names) + ' |', '|---' * (len(names) + 1) + '|']
    for seq in sequences + ['mean']:
        cells = [f'{results[n][seq]:.3f}' for n in names]
        label = f'**{seq}**' if seq == 'mean' else seq
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('weights', nargs='+')
    parser.add_argument('--root', default='../shared/data/sot_val')
    parser.add_argument('--max-frames', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {}
    for path in args.weights:
        results[Path(path).stem] = dev_scores(path, args.root, args.max_frames)
        print(f'{path}: mean AUC {results[Path(path).stem]["mean"]:.4f} '
              f'({results[Path(path).stem]["seconds"]:.0f} s)', flush=True)
    print(markdown(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
