"""`siam-track calibrate-lost`: choose the LOST / TRACKING setting on a dataset and write the
precision / recall / delay table (docs/ros.md, "LOST / TRACKING")."""
import shlex
from pathlib import Path

import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.cli.common import (USER_ERRORS, fail, positive_int, weights_for,
                                         write_text_file)
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation.lost_report import (LOST_BLOCK, REDETECT_BLOCK, CalibrationJob,
                                                     calibrate, replace_blocks)
from siam_tracker_ros.evaluation.redetect_report import redetect_table


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        'calibrate-lost', help='choose the LOST thresholds on a dataset, write the table',
        description='Track every sequence once per weights file (per-frame confidence '
                    'features and IoU cached under --cache), choose the status setting on '
                    '--select, report it on --select and every --check dataset.')
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default', metavar='FILE[,FILE...]',
                        help="weights files ('default' = the shipped ones); the setting is "
                             'chosen for all of them at once')
    parser.add_argument('--report-weights', default='', metavar='FILE[,FILE...]',
                        help='more weights files, reported with the setting chosen for '
                             '--weights but not chosen on')
    parser.add_argument('--select', required=True, metavar='PATH',
                        help='dataset the setting is chosen on (e.g. ../shared/data/sot_val)')
    parser.add_argument('--check', default='', metavar='PATH[,PATH...]',
                        help='more datasets to report (e.g. ../shared/data/sot)')
    parser.add_argument('--cache', default='runs/lost_calibration', metavar='DIR')
    parser.add_argument('--max-sequences', type=positive_int, metavar='N',
                        help='only the first N sequences of each dataset')
    parser.add_argument('--doc', metavar='FILE',
                        help='replace the table block of this markdown file (docs/ros.md)')
    parser.add_argument('--redetect', action='store_true',
                        help='also run the sequences the first weights file loses with '
                             'redetect: true and write the re-detection table')
    parser.add_argument('--device', default='cpu')
    parser.set_defaults(func=run)


def _split(value) -> tuple:
    return tuple(v.strip() for v in value.split(',') if v.strip())


def command_line(args) -> str:
    """The command that regenerates the table."""
    words = ['siam-track', 'calibrate-lost', '--tracker', args.tracker, '--weights',
             args.weights, '--select', args.select]
    for flag in ('report_weights', 'check', 'max_sequences', 'doc'):
        if getattr(args, flag):
            words += [f'--{flag.replace("_", "-")}', str(getattr(args, flag))]
    if args.redetect:
        words.append('--redetect')
    return ' '.join(shlex.quote(w) for w in words)


def run(args) -> int:
    torch.set_num_threads(1)
    job = CalibrationJob(args.tracker, _split(args.weights), args.select, _split(args.check),
                         args.cache, args.max_sequences, args.device,
                         _split(args.report_weights))
    names = (LOST_BLOCK, REDETECT_BLOCK) if args.redetect else (LOST_BLOCK,)
    try:
        check_inputs(job, args.doc, names)
        _, block, records = calibrate(job, command_line(args))
        blocks = {LOST_BLOCK: block}
        if args.redetect:
            blocks[REDETECT_BLOCK] = redetect_table(job, records, command_line(args))
        if args.doc:
            write_text_file(args.doc, replace_blocks(args.doc, blocks))
    except USER_ERRORS as error:
        return fail(str(error))
    for text in blocks.values():
        print(text + '\n')
    return 0


def check_inputs(job, doc, block_names) -> None:
    """Before any tracking: the weights files, every dataset, and the --doc file with every
    block to be replaced."""
    if not job.weights:
        raise ValueError('no weights given')
    for weights in job.all_weights:
        build_tracker(job.tracker, weights=weights_for(weights, job.tracker), device=job.device)
    for path in (job.select,) + job.check:
        load_dataset(path)
    if doc:
        if not Path(doc).is_file():
            raise FileNotFoundError(f'--doc {doc}: file not found')
        replace_blocks(doc, dict.fromkeys(block_names, ''))
