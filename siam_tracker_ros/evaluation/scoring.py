"""Score one tracker's result files on one dataset under its protocol."""
import cv2
import numpy as np

from siam_tracker_ros.datasets.textio import DatasetError
from siam_tracker_ros.evaluation import metrics as m
from siam_tracker_ros.evaluation import vot_metrics as vm
from siam_tracker_ros.evaluation.results import (read_boxes, read_times, read_trajectory,
                                                result_paths)

VOT_BURNIN = 10


def image_size(sequence) -> tuple:
    """(width, height) of the sequence's first frame."""
    image = cv2.imread(str(sequence.frames[0]), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DatasetError(f'{sequence.frames[0]}: cannot read image')
    return image.shape[1], image.shape[0]


def _fps(times) -> float:
    tracked = np.asarray(times[1:], dtype=np.float64)
    tracked = tracked[tracked > 0]
    return float(len(tracked) / tracked.sum()) if len(tracked) else float('nan')


def score_ope_sequence(sequence, boxes) -> dict:
    """Per-sequence OTB curves; the first frame counts with the ground truth as prediction
    (got10k `ExperimentOTB.report` sets `boxes[0] = anno[0]`)."""
    boxes = np.array(boxes, dtype=np.float64)
    boxes[0] = sequence.boxes[0]
    return {
        'success': m.success_curve(m.rect_iou(boxes, sequence.boxes)),
        'precision': m.precision_curve(m.center_error(boxes, sequence.boxes)),
        'norm_precision': m.precision_curve(m.normalized_center_error(boxes, sequence.boxes),
                                            m.NORM_THRESHOLDS)}


def _ope_scalars(curves) -> dict:
    return {'auc': m.auc(curves['success']),
            'p20': m.curve_at(curves['precision'], m.OTB_PIXEL_THRESHOLDS, 20),
            'norm_p': m.curve_at(curves['norm_precision'], m.NORM_THRESHOLDS, 0.2),
            'sr50': m.curve_at(curves['success'], m.OTB_IOU_THRESHOLDS, 0.5)}


def _mean_curves(per_sequence, names) -> dict:
    return {key: np.mean([per_sequence[n][key] for n in names], axis=0)
            for key in ('success', 'precision', 'norm_precision')}


def evaluate_ope(sequences, read) -> dict:
    """OTB-style scores: curves averaged over sequences (each sequence weighs the same)."""
    curves, rows, fps_frames = {}, {}, []
    for seq in sequences:
        boxes, times = read(seq)
        curves[seq.name] = score_ope_sequence(seq, boxes)
        rows[seq.name] = dict(_ope_scalars(curves[seq.name]), fps=_fps(times))
        fps_frames.append(times)
    overall_curves = _mean_curves(curves, list(curves))
    overall = dict(_ope_scalars(overall_curves), fps=_fps_all(fps_frames))
    attributes = {}
    for attr in sorted({a for s in sequences for a in s.attributes}):
        names = [s.name for s in sequences if attr in s.attributes]
        attributes[attr] = dict(_ope_scalars(_mean_curves(curves, names)), sequences=len(names))
    return {'overall': overall, 'sequences': rows, 'attributes': attributes,
            'curves': {k: v.tolist() for k, v in overall_curves.items()}}


def _fps_all(all_times) -> float:
    tracked = np.concatenate([np.asarray(t[1:], dtype=np.float64) for t in all_times])
    tracked = tracked[tracked > 0]
    return float(len(tracked) / tracked.sum()) if len(tracked) else float('nan')


def evaluate_got10k(sequences, read) -> dict:
    """GOT-10k AO / SR over visible frames after the first, boxes clipped to the image;
    dataset scores over the concatenated frames (got10k `ExperimentGOT10k.report`)."""
    all_ious, rows, all_times = [], {}, []
    for seq in sequences:
        boxes, times = read(seq)
        ious = m.rect_iou(boxes, seq.boxes, bound=image_size(seq))
        ious = ious[m.got10k_mask(len(seq), seq.absent, seq.extra.get('cover'))]
        ao, (sr50, sr75) = m.ao_sr(ious)
        rows[seq.name] = {'ao': ao, 'sr50': sr50, 'sr75': sr75, 'fps': _fps(times)}
        all_ious.append(ious)
        all_times.append(times)
    ious = np.concatenate(all_ious)
    ao, (sr50, sr75) = m.ao_sr(ious)
    curve = m.success_curve(ious, m.GOT10K_IOU_THRESHOLDS, exclude_invalid=True)
    return {'overall': {'ao': ao, 'sr50': sr50, 'sr75': sr75, 'fps': _fps_all(all_times)},
            'sequences': rows, 'attributes': {}, 'curves': {'success': curve.tolist()}}


def evaluate_vot(sequences, read, interval=vm.VOT2018_EAO_INTERVAL) -> dict:
    """VOT accuracy (burn-in 10), robustness (failures per 100 frames) and EAO."""
    overlaps, fragments, rows, all_times, failures, frames = [], [], {}, [], 0, 0
    for seq in sequences:
        trajectory, times = read(seq)
        regions = seq.polygons if seq.polygons is not None else seq.boxes
        bound = image_size(seq)
        seq_failures = vm.vot_failures(trajectory)
        accuracy = vm.vot_overlaps(trajectory, regions, bound, burnin=VOT_BURNIN)
        fragments += vm.eao_fragments(vm.vot_overlaps(trajectory, regions, bound),
                                      seq_failures)
        rows[seq.name] = {'accuracy': vm.vot_accuracy([accuracy]), 'failures': len(seq_failures),
                          'fps': _fps(times)}
        overlaps.append(accuracy)
        all_times.append(times)
        failures, frames = failures + len(seq_failures), frames + len(seq)
    max_len = max(len(seq) for seq in sequences)
    curve = vm.expected_overlap_curve(fragments, max_len)
    overall = {'eao': vm.expected_average_overlap(fragments, max_len, interval),
               'accuracy': vm.vot_accuracy(overlaps), 'failures': failures,
               'robustness': vm.vot_robustness(failures, frames), 'fps': _fps_all(all_times)}
    return {'overall': overall, 'sequences': rows, 'attributes': {},
            'curves': {'expected_overlap': curve.tolist()}}


def evaluate(dataset, tracker, results_dir, protocol) -> dict:
    """Scores of `tracker`'s result files in `results_dir` on `dataset` under `protocol`."""
    def read(seq):
        """(boxes or VOT trajectory, per-frame times) of one sequence."""
        box_path, time_path = result_paths(results_dir, tracker, seq.name, protocol)
        if protocol == 'vot':
            result = read_trajectory(box_path, len(seq), dataset.one_based)
        else:
            result = read_boxes(box_path, len(seq), dataset.one_based)
        return result, read_times(time_path)

    evaluators = {'ope': evaluate_ope, 'got10k': evaluate_got10k, 'vot': evaluate_vot}
    scores = evaluators[protocol](dataset.sequences, read)
    scores.update(tracker=tracker, protocol=protocol, dataset=dataset.name)
    return scores
