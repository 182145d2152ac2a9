"""Training speed of the six models at the paper's input sizes, measured in one process.

Run: ``.venv/bin/python benchmarks/bench_training.py [--tracks 64] [--batch-size 32] [--models audio_rnn,fused]``

For each model it trains on synthetic inputs (log-mel ``(1024, 128)``, word
ids ``(400,)`` from a 27,496-word vocabulary) through the same ``tf.data``
pipeline as :func:`mer_utils.training.train_on_splits`, and prints:

- the first epoch's extra time (graph tracing, paid once per split),
- the time per track per epoch afterwards (training plus validation),
- each model's ratio to the fastest.

Use it to size a profile: a split costs about
``overhead + epochs * n_tracks * per_track``.

``--input-overhead`` measures instead what reading the features costs a fit
(how much slower than from arrays already in memory): the audio CNN and the
fused model are fit on ``--tracks`` synthetic one-minute features (float16
``.npy`` files, as the mel cache holds them, in a temporary folder) from

- ``in-memory``: float32 arrays already in memory, ``model.fit(x, y)`` (the bound),
- ``per-track files``: :class:`mer_utils.mels.MelStore` through ``make_dataset``
  (one ``.npy`` opened per track per batch; how training read before the matrix),
- ``matrix, file rows``: the run's feature matrix read row by row from its
  file (:func:`mer_utils.mels.open_matrix` with no memory budget: the paper's size),
- ``matrix, in memory``: the same matrix loaded whole (within the budget).

Every contender fits ``--epochs`` epochs of a fresh model with the same seed;
they take turns, ``--repeat`` rounds (a different one first in each round),
and the best (least disturbed) fit time of each is compared to the in-memory
one, as is the CPU time of the process (all threads; other jobs on the
machine change it less than the wall time). Then each pipeline alone: the
time to deliver an epoch of batches, the input's own cost.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from mer_utils import config, mels as mel_stage, training
from mer_utils.models import MODEL_BUILDERS, MODEL_INPUTS
from mer_utils.paths import RunLayout


class SyntheticMels:
    """A MelStore stand-in: random float16 spectrograms, read per batch like the real cache."""

    def __init__(self, ids, *, n_mels, n_frames, seed=0):
        rng = np.random.default_rng(seed)
        self.ids = list(ids)
        self.shape = (n_mels, n_frames)
        self._features = {t: rng.normal(-40, 10, size=self.shape).astype(np.float16) for t in self.ids}

    def batch(self, track_ids):
        return np.stack([self._features[t].T for t in track_ids]).astype(np.float32)


def time_model(name, *, ids, labels, mels, tokens, batch_size, epochs):
    """``(first epoch s, later epoch s)`` of one model on the synthetic tracks."""
    model = compiled_model(name, n_mels=mels.shape[0], n_frames=mels.shape[1])
    needs = MODEL_INPUTS[name]
    dataset = training.make_dataset(ids, labels, mels=mels if "mel" in needs else None,
                                    tokens=tokens if "tokens" in needs else None, batch_size=batch_size,
                                    shuffle=True, seed=0)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(dataset, validation_data=dataset.take(1), epochs=1 + epochs, verbose=0, shuffle=False,
              callbacks=[Clock()])
    return times[0], float(np.mean(times[1:]))


# --- input overhead: the feature matrix against in-memory arrays -------------------------

def compiled_model(name, *, n_mels, n_frames):
    """A fresh ``name`` with seed 0, compiled as ``training`` compiles it."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    options = {}
    if "mel" in MODEL_INPUTS[name]:
        options.update(n_frames=n_frames, n_mels=n_mels)
    if "tokens" in MODEL_INPUTS[name]:
        options.update(vocab_size=config.VOCAB_SIZE, max_len=config.MAX_LEN)
    model = MODEL_BUILDERS[name](**options)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
    return model


def synthetic_run(folder, n_tracks, *, n_mels, n_frames):
    """A run folder whose ``data/mels.csv`` lists ``n_tracks`` float16 feature files: ``(layout, ids)``."""
    rng = np.random.default_rng(0)
    cache = folder / "cache"
    cache.mkdir(parents=True)
    features = {}
    for i in range(n_tracks):
        features[f"t{i:05d}"] = cache / f"t{i:05d}.npy"
        np.save(features[f"t{i:05d}"], rng.normal(-40, 10, size=(n_mels, n_frames)).astype(np.float16))
    layout = RunLayout(folder / "run")
    mel_stage.write_index(layout, features)
    return layout, list(features)


def input_contenders(layout, ids, labels, tokens, *, batch_size):
    """``({name: fit(model, needs, epochs)}, {name: dataset(needs)})``: the ways a model can be fed the features."""
    store = mel_stage.MelStore.open(layout)
    sources = {"per-track files": store, "matrix, file rows": mel_stage.open_matrix(layout, memory_budget_mb=0),
               "matrix, in memory": mel_stage.open_matrix(layout, memory_budget_mb=1e9)}
    arrays = {"mel": store.batch(ids), "tokens": tokens}

    def pipeline(source):
        return lambda needs: training.make_dataset(ids, labels, mels=source, batch_size=batch_size, shuffle=True,
                                                   seed=0, tokens=tokens if "tokens" in needs else None)

    def through(source):
        return lambda model, needs, epochs: model.fit(pipeline(source)(needs), epochs=epochs, verbose=0,
                                                      shuffle=False)

    def fit_arrays(model, needs, epochs):
        x = {key: arrays[key] for key in ("mel", "tokens") if key in needs}
        model.fit(x, labels, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)

    fits = {"in-memory": fit_arrays, **{name: through(source) for name, source in sources.items()}}
    return fits, {name: pipeline(source) for name, source in sources.items()}


def timed(function, *args):
    """``(wall s, CPU s of this process, all threads)`` of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def input_overhead(args):
    """Print each contender's fit time per model and its ratio to the in-memory fit, then the input alone."""
    n_mels, n_frames = config.N_MELS, args.n_frames
    models = args.models.split(",") if args.models else ["audio_cnn", "fused"]
    labels = (np.arange(args.tracks) % 2).astype(np.int32)
    tokens = np.random.default_rng(1).integers(2, config.VOCAB_SIZE, size=(args.tracks, config.MAX_LEN)).astype(np.int32)
    with tempfile.TemporaryDirectory(prefix="bench_training_") as tmp:
        layout, ids = synthetic_run(Path(tmp), args.tracks, n_mels=n_mels, n_frames=n_frames)
        fits, pipelines = input_contenders(layout, ids, labels, tokens, batch_size=args.batch_size)
        print(f"{args.tracks} tracks of ({n_frames}, {n_mels}) float16 features, batch {args.batch_size}, "
              f"{args.epochs} epochs per fit, {args.repeat} rounds", flush=True)
        for name in models:
            needs = MODEL_INPUTS[name]
            times = {contender: [] for contender in fits}
            order = list(fits)
            for round_ in range(args.repeat):
                for contender in order[round_ % len(order):] + order[:round_ % len(order)]:  # each goes first once
                    times[contender].append(timed(fits[contender], compiled_model(name, n_mels=n_mels,
                                                                                  n_frames=n_frames),
                                                  needs, args.epochs))
                print(f"  {name} round {round_ + 1}: " + ", ".join(f"{c} {t[-1][0]:.1f} s" for c, t in times.items()),
                      flush=True)
            print_ratios(name, times)
        print(f"input alone: one epoch of batches after a first one, no model (best of {args.repeat}), "
              f"ms per batch of {args.batch_size}")
        for contender, pipeline in pipelines.items():
            dataset = pipeline(("mel",))
            runs = [timed(lambda: [None for _ in dataset]) for _ in range(args.repeat + 1)][1:]
            n_batches = -(-args.tracks // args.batch_size)
            print(f"  {contender:18s} wall {1e3 * min(w for w, _ in runs) / n_batches:6.1f}   "
                  f"CPU {1e3 * min(c for _, c in runs) / n_batches:6.1f}", flush=True)


def print_ratios(name, times):
    """Best and median wall time and best CPU time of each contender, and their ratios to the in-memory fit."""
    best = {c: min(w for w, _ in t) for c, t in times.items()}
    cpu = {c: min(u for _, u in t) for c, t in times.items()}
    print(f"{name}: best wall, median wall, ratio; best CPU time (all threads), ratio; to the in-memory fit")
    for contender, values in times.items():
        print(f"  {contender:18s} {best[contender]:7.2f} s  {statistics.median(w for w, _ in values):7.2f} s  "
              f"{best[contender] / best['in-memory']:5.3f}x   CPU {cpu[contender]:7.2f} s  "
              f"{cpu[contender] / cpu['in-memory']:5.3f}x", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=64, help="synthetic tracks per epoch (default 64)")
    parser.add_argument("--batch-size", type=int, default=config.BATCH_SIZE)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after the first (default 2)")
    parser.add_argument("--n-frames", type=int, default=config.N_FRAMES)
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all; with "
                        "--input-overhead: audio_cnn,fused)")
    parser.add_argument("--input-overhead", action="store_true",
                        help="time fits fed by each input path against in-memory arrays (see above)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of --input-overhead (default 3)")
    args = parser.parse_args(argv)

    device = training.configure_device()
    if args.input_overhead:
        print(f"device: {device['device']} ({device['dtype_policy']})")
        input_overhead(args)
        return
    args.models = args.models or ",".join(MODEL_BUILDERS)
    ids = [f"t{i}" for i in range(args.tracks)]
    labels = np.arange(args.tracks) % 2
    mels = SyntheticMels(ids, n_mels=config.N_MELS, n_frames=args.n_frames)
    tokens = np.random.default_rng(0).integers(2, config.VOCAB_SIZE, size=(args.tracks, config.MAX_LEN))
    print(f"device: {device['device']} ({device['dtype_policy']}); {args.tracks} tracks of "
          f"({args.n_frames}, {config.N_MELS}) mels and {config.MAX_LEN} word ids, batch {args.batch_size}")
    rows = []
    for name in args.models.split(","):
        first, later = time_model(name, ids=ids, labels=labels, mels=mels, tokens=tokens,
                                  batch_size=args.batch_size, epochs=args.epochs)
        rows.append((name, first - later, later / args.tracks * 1000))
        print(f"  {name:14s} first-epoch overhead {first - later:6.1f} s   "
              f"{later / args.tracks * 1000:6.1f} ms per track per epoch", flush=True)
    fastest = min(per_track for _, _, per_track in rows)
    print("ratio to the fastest model (time per track per epoch):")
    for name, _, per_track in rows:
        print(f"  {name:14s} {per_track / fastest:5.1f}x")


if __name__ == "__main__":
    main()
