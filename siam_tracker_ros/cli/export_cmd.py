"""`siam-track export`: a tracker's network as three ONNX files (template, search, head) and
network.json with the preprocessing and sizes (docs/export.md)."""
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.cli.common import (USER_ERRORS, check_output_folder, fail, positive_int,
                                         weights_for)
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.frames import FrameSource, first_groundtruth_box
from siam_tracker_ros.models.weights import load_weights
from siam_tracker_ros.onnx_engines import run_export
from siam_tracker_ros.onnx_export import OnnxExportError, export_network, flat, write_export
from siam_tracker_ros.runtime import fuse_conv_bn, to_input
from siam_tracker_ros.trackers.siamese import pink_noise

FORMAT = 'siam_tracker_ros.onnx/1'
SAMPLE_BOX = (280.0, 200.0, 80.0, 80.0)  # on a 640×480 pink-noise frame, for tracing


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser('export', help='export the network (ONNX) for other runtimes')
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default',
                        help="weights file, 'default' (shipped, if any) or 'none' (random)")
    parser.add_argument('--format', default='onnx', choices=('onnx',))
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--check', metavar='SEQUENCE',
                        help='an OTB-layout folder: print the max abs difference of the '
                             "exported graphs' response maps from torch's along it")
    parser.add_argument('--check-frames', type=positive_int, default=20, metavar='N',
                        help='tracked frames of the --check sequence (default 20)')
    parser.set_defaults(func=run)


def sample_inputs(tracker, image=None, box=SAMPLE_BOX):
    """(z, x): the tracker's own template input (1×3×Z×Z) and search batch (N×3×X×X) after
    `init` on `image` (default: pink noise), as fp32 NCHW tensors in the weights' format."""
    image = pink_noise(640)[:480] if image is None else image
    tracker.init(image, box)
    st = tracker.state
    exemplar = tracker.exemplar_crop(image, st.center, st.size, st.pad_color)[None]
    crops, _ = one_size(tracker.search_crops(image), st.kernel)
    return tuple(to_input(p, torch.device('cpu'), torch.float32, tracker.input_format)
                 .contiguous() for p in (exemplar, crops))


def one_size(crops, kernel):
    """The search crops and kernel of the tracker's one (template, search) size. A multi-size
    tracker (siam_gam) gives both per size pair: the export takes a single pair."""
    if not isinstance(crops, list):
        return crops, kernel
    if len(crops) != 1:
        raise OnnxExportError(f'export takes one (template, search) size, not {len(crops)}: '
                              'set test_sizes to one pair, e.g. [127, 255]')
    return crops[0], kernel[0]


def export_tracker(tracker, out_dir, image=None) -> list:
    """Write the tracker's fused (conv-BN folded) fp32 network as template.onnx, search.onnx,
    head.onnx and network.json into `out_dir`; return the paths."""
    z, x = sample_inputs(tracker, image)
    net = fuse_conv_bn(tracker.net).cpu()
    graphs = export_network(net, z, x)
    return write_export(graphs, out_dir, manifest(tracker, x.shape[0]))


def map_differences(tracker, out_dir, frames, box) -> np.ndarray:
    """Per tracked frame, the max abs difference between the response maps of the exported
    graphs (onnxruntime) and of the fused torch network, on the tracker's own crops as it
    follows `frames` (the first is the init frame) with torch. Both sides use the init
    frame's template (a `template_rate` update changes the tracker's kernel, not z)."""
    tracker.init(frames[0], box)
    st = tracker.state
    exemplar = tracker.exemplar_crop(frames[0], st.center, st.size, st.pad_color)[None]
    z = to_input(exemplar, torch.device('cpu'), torch.float32, tracker.input_format)
    first_kernel = st.kernel
    differences = []
    for frame in frames[1:]:
        crops, kernel = one_size(tracker.search_crops(frame), first_kernel)
        x = to_input(crops, torch.device('cpu'), torch.float32, tracker.input_format)
        expected = [t.float().cpu().numpy() for t in flat(tracker.runner().respond(kernel,
                                                                                   crops))]
        maps = run_export(out_dir, z.contiguous(), x.contiguous())
        differences.append(max(np.abs(a - b).max() for a, b in zip(maps, expected)))
        tracker.track(frame)
    return np.array(differences)


def manifest(tracker, search_batch: int) -> dict:
    """What a runtime needs besides the graphs: preprocessing, sizes, the tracker's config."""
    fmt, cfg, weights = tracker.input_format, tracker.config, tracker.weights_path
    return {
        'format': FORMAT, 'tracker': tracker.name,
        'weights': Path(weights).name if weights else None,
        'backbone': load_weights(weights).get('backbone') if weights else None,
        'input': {'layout': 'NCHW', 'dtype': 'float32', 'order': fmt.order,
                  'scale': fmt.scale, 'mean': list(fmt.mean), 'std': list(fmt.std),
                  'formula': '(pixel * scale - mean) / std per channel, pixels 0-255 '
                             'in `order`'},
        'exemplar_size': cfg.exemplar_size, 'instance_size': cfg.instance_size,
        'search_batch': search_batch, 'kernel_batch': 1, 'stride': int(tracker.net.stride),
        'config': {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
    }


def run(args) -> int:
    try:
        check_output_folder(args.out)
        frames, box = check_frames(args.check, args.check_frames) if args.check else (None, None)
        tracker = build_tracker(args.tracker, weights=weights_for(args.weights, args.tracker),
                                backend='eager')
        paths = export_tracker(tracker, args.out)
        for path in paths:
            print(f'{path}  {path.stat().st_size / 1e6:.2f} MB')
        if args.check:
            differences = map_differences(tracker, args.out, frames, box)
            print(f'response maps, onnxruntime vs torch fused fp32, {len(differences)} frames '
                  f'of {args.check}: max abs difference {differences.max():.2e}')
    except USER_ERRORS as err:  # OnnxExportError and EngineMissing are ValueErrors
        return fail(str(err))
    return 0


def check_frames(sequence, count: int):
    """The first count+1 frames (RGB) of an OTB-layout folder and its first box; ValueError
    when it has fewer than 2 frames."""
    frames = []
    for frame in FrameSource(sequence):
        frames.append(frame)
        if len(frames) > count:
            break
    if len(frames) < 2:
        raise ValueError(f'--check {sequence}: {len(frames)} frame(s); the check needs 2')
    return frames, first_groundtruth_box(sequence)

