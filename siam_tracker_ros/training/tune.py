"""Tune a tracker's hyperparameters on a validation set by coordinate search.

`python -m siam_tracker_ros.training.tune --tracker siamfc --weights W.pt
 --root ../shared/data/sot_val --grid window_influence=0.15,0.2,0.25 --grid scale_lr=0.4,0.59`

Each `--grid field=v1,v2,...` is one coordinate; coordinates are searched in order, each
keeping the best value found so far for the others, for `--rounds` passes. Every trial runs
the registered tracker (built by `build_tracker` with the field overrides) over whole
sequences and scores the mean one-pass success AUC. Prints a Markdown log of every trial
and the best overrides as YAML lines for `config/<tracker>.yaml`. Select on `sot_val`
only; report the dev set (`sot`) with the chosen values separately.
"""
import argparse
import sys
import time

import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.training.devtable import markdown
from siam_tracker_ros.training.validate import evaluate, load_sequences


def parse_grid(items) -> dict:
    """['field=v1,v2'] → {field: [v1, v2]} with ints, floats or strings."""
    grid = {}
    for item in items:
        field, _, values = item.partition('=')
        if not field or not values:
            raise SystemExit(f'--grid expects field=v1,v2,... (got {item!r})')
        grid[field.strip()] = [_number(v) for v in values.split(',')]
    return grid


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def score(tracker_name: str, weights, sequences, overrides: dict) -> dict:
    """{sequence: AUC, 'mean': AUC} of the tracker with `overrides`."""
    tracker = build_tracker(tracker_name, weights=weights, **overrides)
    return evaluate(tracker, sequences)


def coordinate_search(tracker_name, weights, sequences, grid: dict, rounds: int = 1,
                      start: dict = None, log=print):
    """Best overrides and every trial as (overrides, scores)."""
    best = dict(start or {})
    trials, cache = [], {}

    def trial(overrides):
        key = tuple(sorted(overrides.items()))
        if key not in cache:
            began = time.time()
            cache[key] = score(tracker_name, weights, sequences, overrides)
            trials.append((dict(overrides), cache[key]))
            log(f'| {_describe(overrides)} | {cache[key]["mean"]:.4f} | '
                f'{time.time() - began:.0f} s |')
        return cache[key]['mean']

    best_auc = trial(best)
    for _ in range(rounds):
        for field, values in grid.items():
            for value in values:
                candidate = {**best, field: value}
                auc = trial(candidate)
                if auc > best_auc + 1e-9:
                    best, best_auc = candidate, auc
    return best, trials


def _describe(overrides: dict) -> str:
    return ', '.join(f'{k}={v}' for k, v in sorted(overrides.items())) or 'config as is'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tracker', required=True)
    parser.add_argument('--weights', default='default')
    parser.add_argument('--root', default='../shared/data/sot_val')
    parser.add_argument('--grid', action='append', default=[], metavar='FIELD=V1,V2')
    parser.add_argument('--start', action='append', default=[], metavar='FIELD=V',
                        help='initial overrides (default: the config file as is)')
    parser.add_argument('--rounds', type=int, default=1)
    parser.add_argument('--max-frames', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sequences = load_sequences(args.root, args.max_frames)
    start = {k: v[0] for k, v in parse_grid(args.start).items()}
    print(f'{args.tracker} on {args.root} ({len(sequences)} sequences), weights {args.weights}')
    print('| overrides | mean AUC | time |\n|---|---|---|', flush=True)
    best, trials = coordinate_search(args.tracker, args.weights, sequences,
                                     parse_grid(args.grid), args.rounds, start,
                                     log=lambda line: print(line, flush=True))
    print('\nbest:')
    for field, value in sorted(best.items()):
        print(f'  {field}: {value}')
    scores = {tuple(sorted(o.items())): s for o, s in trials}
    print('\n' + markdown({'start': scores[tuple(sorted(start.items()))],
                           'best': scores[tuple(sorted(best.items()))]}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
