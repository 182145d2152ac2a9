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
"""

import argparse
import time

import keras
import numpy as np

from mer_utils import config, training
from mer_utils.models import MODEL_BUILDERS, MODEL_INPUTS


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
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    options = {}
    if "mel" in MODEL_INPUTS[name]:
        options.update(n_frames=mels.shape[1], n_mels=mels.shape[0])
    if "tokens" in MODEL_INPUTS[name]:
        options.update(vocab_size=config.VOCAB_SIZE, max_len=tokens.shape[1])
    model = MODEL_BUILDERS[name](**options)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=64, help="synthetic tracks per epoch (default 64)")
    parser.add_argument("--batch-size", type=int, default=config.BATCH_SIZE)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after the first (default 2)")
    parser.add_argument("--n-frames", type=int, default=config.N_FRAMES)
    parser.add_argument("--models", default=",".join(MODEL_BUILDERS), help="comma-separated model names")
    args = parser.parse_args(argv)

    device = training.configure_device()
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
