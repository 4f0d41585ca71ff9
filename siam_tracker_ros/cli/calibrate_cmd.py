"""`siam-track calibrate-lost`: choose the LOST / TRACKING setting on a dataset and write the
precision / recall / delay table (docs/ros.md, "LOST / TRACKING")."""
import shlex

import torch

from siam_tracker_ros.cli.common import USER_ERRORS, fail
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.evaluation.lost_report import (LOST_BLOCK, REDETECT_BLOCK, CalibrationJob,
                                                     calibrate, replace_block)
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
    parser.add_argument('--select', required=True, metavar='PATH',
                        help='dataset the setting is chosen on (e.g. ../shared/data/sot_val)')
    parser.add_argument('--check', default='', metavar='PATH[,PATH...]',
                        help='more datasets to report (e.g. ../shared/data/sot)')
    parser.add_argument('--cache', default='runs/lost_calibration', metavar='DIR')
    parser.add_argument('--max-sequences', type=int, metavar='N',
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
    for flag in ('check', 'max_sequences', 'doc'):
        if getattr(args, flag):
            words += [f'--{flag.replace("_", "-")}', str(getattr(args, flag))]
    if args.redetect:
        words.append('--redetect')
    return ' '.join(shlex.quote(w) for w in words)


def run(args) -> int:
    torch.set_num_threads(1)
    job = CalibrationJob(args.tracker, _split(args.weights), args.select, _split(args.check),
                         args.cache, args.max_sequences, args.device)
    try:
        _, block, records = calibrate(job, command_line(args))
        blocks = {LOST_BLOCK: block}
        if args.redetect:
            blocks[REDETECT_BLOCK] = redetect_table(job, records, command_line(args))
        for name, text in blocks.items():
            if args.doc:
                replace_block(args.doc, name, text)
            print(text + '\n')
    except USER_ERRORS as error:
        return fail(str(error))
    return 0
