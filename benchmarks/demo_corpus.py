"""Demo corpus: generation time and size, and how separable its classes are.

    .venv/bin/python benchmarks/demo_corpus.py [--n-tracks 60 300] [--seed 2017] [--keep DIR]

For each size, generates the corpus into a temporary folder (cold), reruns
it (cached), and prints wall and CPU time, files and megabytes. For the
largest size it also prints the cross-validated accuracy of two simple
non-deep baselines on the valid tracks (planted defects left out), with the
true labels from truth.csv: audio (log-mel mean and std + logistic
regression) and lyrics (word TF-IDF + logistic regression). The generator
aims at audio roughly 65-80% and lyrics roughly 75-90%, like the paper's
ordering; audio and lyrics noise are independent, so fusion can help.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mer_utils.demo.corpus import generate_demo_corpus


def timed_generation(out_dir, *, n_tracks, seed):
    wall, cpu = time.perf_counter(), time.process_time()
    metadata = generate_demo_corpus(out_dir, n_tracks=n_tracks, seed=seed)
    cold = (time.perf_counter() - wall, time.process_time() - cpu)
    wall = time.perf_counter()
    generate_demo_corpus(out_dir, n_tracks=n_tracks, seed=seed)
    cached = time.perf_counter() - wall
    files = [p for p in Path(out_dir).rglob("*") if p.is_file()]
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    print(f"n_tracks={n_tracks}: cold {cold[0]:.1f} s wall ({cold[1]:.1f} s CPU), cached rerun {cached * 1e3:.1f} ms, "
          f"{len(files)} files, {megabytes:.1f} MB ({megabytes / n_tracks:.2f} MB per track); "
          f"cold/cached = {cold[0] / max(cached, 1e-9):.0f}x")
    return metadata


def valid_tracks(metadata):
    corpus = pd.read_csv(metadata, dtype=str, keep_default_na=False)
    truth = pd.read_csv(metadata.parent / "truth.csv", dtype=str, keep_default_na=False)
    table = pd.concat([corpus, truth[["true_label", "planted_defect"]]], axis=1)
    return table[table["planted_defect"] == ""].reset_index(drop=True)


def audio_features(table, root, *, seconds=30.0, sample_rate=16000):
    import librosa
    import soundfile as sf

    rows = []
    for path in table["audio_path"]:
        y, sr = sf.read(root / path, frames=int(seconds * sf.info(root / path).samplerate), dtype="float32")
        y = librosa.resample(y.mean(axis=1) if y.ndim == 2 else y, orig_sr=sr, target_sr=sample_rate)
        mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sample_rate, n_mels=64))
        rows.append(np.concatenate([mel.mean(axis=1), mel.std(axis=1)]))
    return np.array(rows)


def baseline_accuracies(metadata, *, seed):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mer_utils.textio import read_lyrics

    table = valid_tracks(metadata)
    root = metadata.parent
    labels = (table["true_label"] == "positive").astype(int).to_numpy()
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    start = time.perf_counter()
    audio = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)),
                            audio_features(table, root), labels, cv=folds).mean()
    texts = [read_lyrics(root / path) for path in table["lyrics_path"]]
    lyrics = cross_val_score(make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000)),
                             texts, labels, cv=folds).mean()
    print(f"baselines on {len(table)} valid tracks (5-fold CV accuracy, {time.perf_counter() - start:.0f} s): "
          f"audio log-mel + LR {audio:.3f}, lyrics TF-IDF + LR {lyrics:.3f}, "
          f"majority class {max(labels.mean(), 1 - labels.mean()):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-tracks", type=int, nargs="+", default=[60, 300])
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n_tracks in args.n_tracks:
            metadata = timed_generation(Path(tmp) / f"demo-{n_tracks}", n_tracks=n_tracks, seed=args.seed)
        if not args.no_baselines:
            baseline_accuracies(metadata, seed=args.seed)


if __name__ == "__main__":
    main()
