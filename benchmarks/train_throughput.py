"""Training pairs per second with batches made in the trainer or ahead by `data.workers`.

    python benchmarks/train_throughput.py --config config/train/siamfc_mobilenetv2.yaml \\
        --steps 40 --workers 0,1

One epoch of `--steps` batches per setting, no validation, output in a temporary folder; the
trainer's `threads` from the config. Prints a markdown table with the CPU (and GPU) name.
"""
import argparse
import dataclasses
import tempfile
import time

import torch

from siam_tracker_ros.evaluation.lost_report import cpu_name
from siam_tracker_ros.training.config import ValConfig, load_train_config
from siam_tracker_ros.training.trainer import Trainer


def pairs_per_second(config, workers: int, steps: int) -> float:
    """Pairs per second over one epoch of `steps` batches made by `workers` processes."""
    with tempfile.TemporaryDirectory() as out:
        run = dataclasses.replace(
            config, epochs=1, pairs_per_epoch=steps * config.batch_size, out_dir=out,
            val=ValConfig(), data=dataclasses.replace(config.data, workers=workers))
        trainer = Trainer(run, progress=False)
        trainer.out.mkdir(parents=True)
        start = time.perf_counter()
        trainer.train_epoch(0)
        return steps * config.batch_size / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', required=True)
    parser.add_argument('--steps', type=int, default=40)
    parser.add_argument('--workers', default='0,1')
    args = parser.parse_args(argv)
    config = load_train_config(args.config)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    print(f'{config.name}: batch {config.batch_size}, {args.steps} steps, trainer threads '
          f'{config.threads or torch.get_num_threads()}; CPU: {cpu_name()}; {device}')
    print('\n| data.workers | pairs/s |\n|---|---|')
    for workers in (int(w) for w in args.workers.split(',')):
        print(f'| {workers} | {pairs_per_second(config, workers, args.steps):.1f} |', flush=True)


if __name__ == '__main__':
    main()
