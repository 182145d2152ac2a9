"""The original musicnn package on the same 30 s clip and cores as bench_musicnn.py: the port's baseline.

The original (``musicnn==0.1.0``, TF1 graph mode through tf-keras) cannot
run in the project's environment, so this script runs in the throwaway one
that made the port's reference outputs (its commands are in
``scripts/make_musicnn_reference.py``)::

    TF_USE_LEGACY_KERAS=1 /tmp/musicnn-ref/bin/python benchmarks/bench_musicnn_original.py
    .venv/bin/python benchmarks/bench_musicnn.py      # then the port, right after, on the same machine

It times, on the clip ``bench_musicnn.synthetic_clip`` writes (44.1 kHz
stereo), with the original's float16 overflow patched as in the reference
script and all the clip's patches in one batch:

- ``decode + input``: the package's ``batch_data`` (``librosa.load`` at
  16 kHz, the mel-spectrogram, the 3 s patches);
- ``network``: one ``Session.run`` of the graph on those patches, for the
  tags and the penultimate layer, the graph built and restored beforehand;
- ``whole``: the two together, what a caller holding the session pays per clip;
- ``extractor()``: the package's own call per file, which also builds the
  graph and restores the checkpoint every time.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import soundfile as sf

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1] / "scripts")]
from bench_musicnn import CORES, pin_to_cores, synthetic_clip, timed  # noqa: E402
from make_musicnn_reference import ONE_BATCH, _patched_extractor  # noqa: E402


def build_session(extractor, model, n_frames):
    """The original graph, restored from the package's checkpoint: (session, input, [tags, penultimate])."""
    tf = extractor.tf
    n_labels = len(extractor.config.MSD_LABELS if "MSD" in model else extractor.config.MTT_LABELS)
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, extractor.config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = extractor.models.define_model(x, is_training, model, n_labels)
    session = tf.compat.v1.Session()
    tf.compat.v1.train.Saver().restore(session, str(Path(extractor.__file__).parent / model) + "/")
    return session, x, is_training, [tf.nn.sigmoid(outputs[0]), outputs[-1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="MSD_musicnn")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    cores = pin_to_cores(CORES)

    extractor = _patched_extractor()
    extractor.config.BATCH_SIZE = ONE_BATCH
    n_frames = extractor.librosa.time_to_frames(3, sr=extractor.config.SR, n_fft=extractor.config.FFT_SIZE,
                                                hop_length=extractor.config.FFT_HOP) + 1
    session, x, is_training, fetches = build_session(extractor, args.model, n_frames)

    def network(batch):
        return session.run(fetches, feed_dict={x: batch, is_training: False})

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "clip.wav")
        sf.write(path, synthetic_clip(args.seconds), 44100, subtype="FLOAT")
        batch, _ = extractor.batch_data(path, n_frames, n_frames)
        parts = {
            "decode + input": lambda: extractor.batch_data(path, n_frames, n_frames),
            "network": lambda: network(batch),
            "whole": lambda: network(extractor.batch_data(path, n_frames, n_frames)[0]),
        }
        results = timed(parts, args.repeat)
        per_file = timed({"extractor()": lambda: extractor.extractor(path, model=args.model)}, max(2, args.repeat // 3))

    print(f"original musicnn 0.1.0 {args.model}, a {args.seconds:g} s clip ({len(batch)} patches), {cores} cores, "
          f"best / median of {args.repeat}:")
    for name, (best, median) in {**results, **per_file}.items():
        print(f"  {name:<15} {best:7.3f} s  {median:7.3f} s")


if __name__ == "__main__":
    main()
