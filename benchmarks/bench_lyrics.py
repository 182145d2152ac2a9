"""Lyrics stage: time to POS-tag a corpus, cold (empty cache) and warm, in one process or a pool.

    .venv/bin/python benchmarks/bench_lyrics.py [--dataset DIR] [--workers 1 2] [--korean 764]

What the lyrics stage must reach: tagging all 764 lyrics of the real
MIREX-like dataset takes under a minute on 2 cores. For each worker count,
``tag_all`` runs on every lyrics file with an empty token cache (cold),
then again on the same cache (warm). The first cold run of the process
also pays the one-time start of the English lexicon (and, for Korean, of
the Java VM): it is shown apart.

The real dataset is English. ``--korean N`` adds N generated Korean lyrics
(the demo corpus's templates, 100-300 words, with English words mixed in as
in K-pop) to time Okt too; those figures are about a synthetic corpus.
All figures are measured in this process, one after another.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mer_utils.lyrics import tag_all
from mer_utils.parallel import available_cores
from mer_utils.paths import MIREX_DIR


def mirex_rows(dataset_dir):
    files = sorted((Path(dataset_dir) / "dataset" / "Lyrics").glob("*.txt"))
    return [{"track_id": p.stem, "lyrics_path": str(p), "lyrics_text": "", "language": ""} for p in files]


def korean_rows(n, *, seed=2017):
    from mer_utils.demo.lyrics import write_lyrics

    rng = np.random.default_rng(seed)
    return [{"track_id": f"ko-{i:04d}", "lyrics_path": "", "language": "ko",
             "lyrics_text": "\n".join(write_lyrics(("negative", "positive")[i % 2], "ko", rng=rng,
                                                   n_words=int(rng.integers(100, 300)), faithful=0.8))}
            for i in range(n)]


def timed(rows, *, n_workers, cache_dir):
    start, cpu = time.perf_counter(), time.process_time()
    report = tag_all(rows, n_workers=n_workers, cache_dir=cache_dir)
    return time.perf_counter() - start, time.process_time() - cpu, report


def bench(name, rows, workers):
    """Print cold and warm times per worker count; return {label: seconds}."""
    print(f"\n{name}: {len(rows)} lyrics")
    results = {}
    for i, n_workers in enumerate([workers[0]] + list(workers)):
        with tempfile.TemporaryDirectory() as cache:
            cold, cold_cpu, report = timed(rows, n_workers=n_workers, cache_dir=cache)
            warm, _, warm_report = timed(rows, n_workers=n_workers, cache_dir=cache)
        label = f"n_workers={n_workers}" + (" (first in process: includes tagger start)" if i == 0 else "")
        results[label] = cold
        words = sum(len(t) for t in report.tokens.values())
        print(f"  {label}: cold {cold:.2f} s wall ({cold_cpu:.2f} s CPU here, {len(rows) / cold:.0f} lyrics/s, "
              f"{words:,} words kept, {len(report.rejections)} rejected); warm {warm:.2f} s "
              f"({warm_report.cache_hits} cache hits); cold/warm = {cold / warm:.1f}x")
    steady = {k: v for k, v in results.items() if "first" not in k}
    base = steady[f"n_workers={workers[0]}"]
    for label, seconds in steady.items():
        if label != f"n_workers={workers[0]}":
            print(f"  cold time, {label} / n_workers={workers[0]}: {seconds / base:.2f}x")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=str(MIREX_DIR), help="the MIREX-like dataset folder")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    parser.add_argument("--korean", type=int, default=764, help="generated Korean lyrics to add (0: none)")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{available_cores()} cores available, load average {load}")

    rows = mirex_rows(args.dataset)
    if rows:
        results = bench("MIREX-like dataset (English)", rows, args.workers)
        first = next(iter(results.values()))
        verdict = "meets" if first < 60 else "MISSES"
        print(f"  target: all {len(rows)} lyrics cold in {first:.1f} s, tagger start included: "
              f"{verdict} the 60 s target ({first / 60:.0%} of it)")
    else:
        print(f"no lyrics under {args.dataset}/dataset/Lyrics: real-dataset figures skipped")
    if args.korean:
        bench("generated Korean lyrics (synthetic, Okt)", korean_rows(args.korean), args.workers)


if __name__ == "__main__":
    main()
