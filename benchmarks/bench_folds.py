"""Notebook 08's repeated folds of the cheap rows on worker processes against one process.

    .venv/bin/python benchmarks/bench_folds.py papermill_runs/demo/bench [--repeats 5] [--workers 0] [--seed 2017]

Needs a run folder where notebooks 01-03 have run (``--only 01,02,03`` is
enough). Its features are computed as notebook 08 computes them
(:func:`mer_utils.pretrained.musicnn_features.extract_all` on the first 30 s,
:func:`mer_utils.pretrained.lyrics_features.extract_all`), read from their
caches when a run computed them before, and not timed. Then, in this
process, :func:`mer_utils.beyond.repeated_evaluation` (the pretrained rows
and both baselines on ``--repeats`` x 5 fresh folds) runs twice: on one
process (``n_workers=1``, the baseline) and as notebook 08 runs it
(``--workers``, 0: automatic). Prints both wall times, their ratio, and
whether the two gave the same numbers (they must: each fold is fit alone,
with its own seed). Both arms also compute the mel-statistics baseline's
inputs once, in this process (as the notebook does), so the ratio slightly
understates the folds' own speed-up. Nothing is written into the run's ``models/``.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # musicnn's features import TensorFlow: no start-up chatter

from mer_utils import beyond  # noqa: E402
from mer_utils.accounting import kept, read_ledger  # noqa: E402
from mer_utils.parallel import available_cores, resolve_workers  # noqa: E402
from mer_utils.paths import RunLayout  # noqa: E402
from mer_utils.pretrained import lyrics_features, musicnn_features  # noqa: E402


def run_sources(layout, *, max_seconds):
    """Notebook 08's feature tables of the run's kept tracks (cached after the first call)."""
    tracks = kept(read_ledger(layout.tracks_csv))
    audio = musicnn_features.extract_all(tracks, max_seconds=max_seconds, progress=False).table()
    return {"musicnn": audio, "lyrics_features": lyrics_features.extract_all(tracks).features}


def timed(function, **options):
    """``(seconds, result)`` of ``function(**options)``."""
    start = time.perf_counter()
    result = function(**options)
    return time.perf_counter() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="run folder where notebooks 01-03 have run")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the 5-fold split (default 5)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes of the measured arm (0: automatic)")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--max-seconds", type=float, default=30.0, help="audio musicnn reads (notebook 08: 30 s)")
    args = parser.parse_args(argv)

    layout = RunLayout(args.run_dir)
    sources = run_sources(layout, max_seconds=args.max_seconds)
    n_folds = args.repeats * beyond.REPEATED_FOLDS
    workers = resolve_workers(args.workers, n_items=n_folds, min_items_per_worker=beyond.MIN_FOLDS_PER_WORKER)
    print(f"{len(sources['musicnn'])} tracks, {n_folds} folds; {available_cores()} cores, measured arm on "
          f"{workers} worker processes")
    arms = {}
    for name, n_workers in (("one process", 1), (f"{workers} workers", args.workers)):
        arms[name] = timed(beyond.repeated_evaluation, layout=layout, sources=sources, seed=args.seed,
                           n_repeats=args.repeats, n_workers=n_workers)
        print(f"  {name:>12}: {arms[name][0]:6.1f} s ({arms[name][0] / n_folds:.2f} s per fold)")
    (serial_s, serial), (pooled_s, pooled) = arms.values()
    same = serial.reset_index(drop=True).equals(pooled.reset_index(drop=True))
    print(f"ratio {serial_s / pooled_s:.2f}x faster; same numbers: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
