"""Random-crop training against the first window: a mel model trained never-tuned, twice on identical folds.

    .venv/bin/python benchmarks/bench_random_crop.py papermill_runs/mirex/base \\
        [--model audio_cnn] [--crop-frames 256] [--epochs 30] [--patience 5] [--folds 5] [--seed 2017]
        [--whole-clip] [--scratch DIR]

Needs a run folder where notebooks 01-03 have run (``data/splits.json``,
``data/tracks.csv``, ``data/mels.csv`` and, for the fused model,
``data/tokens.json``). On each of its outer folds (the first ``--folds``)
the model is trained with the never-tuned protocol,
:func:`mer_utils.beyond.train_nested`: early stopping on an inner
validation part of the fold's training part, scored on the outer fold,
which nothing saw. Both arms see the same folds, inner splits and seeds;
only the input differs:

- **first window** (``crop_frames=0``): each clip is its first W frames
  only, every epoch, in training, validation and prediction;
- **random crop** (``crop_frames=W``): a fresh random window of W frames of
  the whole clip every epoch; validation and prediction average the
  probabilities of the clip's non-overlapping windows
  (:func:`mer_utils.training.predict_clips`);
- with ``--whole-clip``, for reference, **whole clip**: the paper's input
  (all frames, ``crop_frames=0``), the never-tuned row of notebook 08.

The first two models are built for W frames and standardize with the per-band
statistics of their training clips (the first window's of the first W
frames, the random crop's of the whole clips). The first window is a run
folder of its own in the scratch folder whose mel index points to copies of
the first W frames of every cached feature (a view of the store on disk:
``train_nested`` reads its features from a run folder); the random crop's
scratch run points to the original features. Nothing is written into the
measured run (``--scratch``, default a temporary folder removed at the end).

Prints, per arm, mean +- std over the folds of the outer folds' balanced
accuracy, ROC-AUC and accuracy, and per score the paired comparison of
:func:`mer_utils.results.paired_comparison` (t-test and exact Wilcoxon,
random crop minus first window; then minus whole clip). On a CPU the same
seed gives the same figures. Wall times are of this machine as it was.
"""

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mer_utils import beyond, config, results
from mer_utils.mels import read_index, write_index
from mer_utils.paths import RunLayout

ARMS = ("first_window", "random_crop", "whole_clip")
SCORES = ("balanced_accuracy", "roc_auc", "accuracy")


def scratch_run(layout, folder, *, n_folds, first_frames=None):
    """A run folder in ``folder`` with ``layout``'s splits (the first ``n_folds``), ledger and lyrics.

    Its mel index points to ``layout``'s cached features, or, with
    ``first_frames``, to copies of their first ``first_frames`` frames
    (float16 ``(n_mels, first_frames)``, as cached).
    """
    scratch = RunLayout(folder)
    scratch.data_dir.mkdir(parents=True)
    saved = json.loads(layout.splits_json.read_text(encoding="utf-8"))
    saved["splits"] = saved["splits"][:n_folds]
    scratch.splits_json.write_text(json.dumps(saved), encoding="utf-8")
    for source, target in ((layout.tracks_csv, scratch.tracks_csv), (layout.tokens_json, scratch.tokens_json)):
        if source.is_file():
            shutil.copy2(source, target)
    index = read_index(layout)
    if first_frames:
        crops = Path(folder) / "first_frames"
        crops.mkdir()
        for track_id, path in list(index.items()):
            index[track_id] = crops / Path(path).name
            np.save(index[track_id], np.load(path, mmap_mode="r")[:, :first_frames])
    write_index(scratch, index)
    return scratch


def run_arm(layout, arm, *, model, crop_frames, n_folds, seed, scratch_dir, **options):
    """Train ``model`` never-tuned for one arm; its per-fold scores (``train_nested``'s rows)."""
    scratch = scratch_run(layout, Path(scratch_dir) / arm, n_folds=n_folds,
                          first_frames=crop_frames if arm == "first_window" else None)
    clock = time.perf_counter()
    rows = beyond.train_nested(model, scratch, seed=seed, crop_frames=crop_frames if arm == "random_crop" else 0,
                               **options)
    print(f"{arm}: {len(rows)} folds in {time.perf_counter() - clock:.0f} s; epochs run "
          f"{rows['epochs_run'].tolist()}, best {rows['best_epoch'].tolist()}", flush=True)
    return rows.assign(model=arm)


def report(rows):
    """Print mean +- std per arm and the paired comparisons; return the long metrics table."""
    metrics = rows.melt(id_vars=["model", "split"], value_vars=list(SCORES), var_name="metric")
    print("\nouter folds, mean +- std (ddof 1) over folds:")
    ran = [arm for arm in ARMS if arm in set(rows["model"])]
    for arm in ran:
        arm_rows = rows[rows["model"] == arm]
        print(f"  {arm:>12}: " + ", ".join(f"{s} {arm_rows[s].mean():.4f} +- {arm_rows[s].std(ddof=1):.4f}"
                                           for s in SCORES))
    for other in [arm for arm in ran if arm != "random_crop"]:
        print(f"\npaired, random_crop - {other}:")
        for score in SCORES:
            _print_test(results.paired_comparison(metrics, "random_crop", other, metric=score), score)
    return metrics


def _print_test(test, score):
    print(f"  {score}: difference {test['mean_difference']:+.4f} +- {test['std_difference']:.4f}, "
          f"t = {test['t_statistic']:.3f}, p = {test['t_p_value']:.4g}; Wilcoxon p = "
          f"{test['wilcoxon_p_value']:.4g} {test['note']}".rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run folder where notebooks 01-03 have run")
    parser.add_argument("--model", default="audio_cnn", help="a mel model: audio_cnn, audio_rnn, audio_cnn_rnn, fused")
    parser.add_argument("--crop-frames", type=int, default=256, help="W, the window in frames (256: 7.5 s of 30 s)")
    parser.add_argument("--epochs", type=int, default=config.EPOCHS)
    parser.add_argument("--patience", type=int, default=config.PATIENCE)
    parser.add_argument("--folds", type=int, default=None, help="only the first N outer folds (default all)")
    parser.add_argument("--seed", type=int, default=config.SEED)
    parser.add_argument("--whole-clip", action="store_true", help="also train on whole clips (the paper's input)")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="keep the two scratch runs here (default a temporary folder, removed)")
    args = parser.parse_args(argv)
    layout = RunLayout(args.run_dir)
    n_folds = args.folds or len(json.loads(layout.splits_json.read_text(encoding="utf-8"))["splits"])
    print(f"{args.model} on {args.run_dir}: {n_folds} outer folds, W = {args.crop_frames} frames, "
          f"epochs {args.epochs}, patience {args.patience}, seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_random_crop_") as temporary:
        scratch_dir = args.scratch or temporary
        rows = pd.concat([run_arm(layout, arm, model=args.model, crop_frames=args.crop_frames, n_folds=n_folds,
                                  seed=args.seed, scratch_dir=scratch_dir, epochs=args.epochs,
                                  patience=args.patience) for arm in ARMS[:3 if args.whole_clip else 2]],
                         ignore_index=True)
    print(rows[["model", "split", "n_train", "n_inner_val", "n_test", "epochs_run", "best_epoch", *SCORES,
                "wall_s"]].to_string(index=False))
    report(rows)


if __name__ == "__main__":
    main()
