"""Data stage on the real MIREX-like dataset: manifest, header probes, filtering, splits.

    .venv/bin/python benchmarks/data_stage.py [--dataset DIR]

Prints the wall time of each step with the mirex profile's settings, the
time per audio header read by ``probe_duration`` against decoding the same
files in full with soundfile (what header probing avoids), and the ratio of
the two, all measured in this process. Needs ../shared/data/mirex-multimodal.
"""

import argparse
import time

import soundfile as sf

from mer_utils import paths
from mer_utils.audio_io import probe_duration
from mer_utils.corpus import from_mirex
from mer_utils.filtering import filter_tracks
from mer_utils.run import load_profile
from mer_utils.splits import make_splits


def timed(label, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"{label:<34s} {elapsed:8.3f} s")
    return result, elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=str(paths.MIREX_DIR))
    args = parser.parse_args(argv)
    params = load_profile("mirex")["parameters"]

    manifest, _ = timed("manifest (903 songs)", from_mirex, args.dataset)
    ledger, _ = timed("filter_tracks", filter_tracks, manifest, positive_tags=params["positive_tags"],
                      negative_tags=params["negative_tags"], min_duration_s=params["min_duration_s"])
    kept = ledger[ledger["status"] == "kept"]
    timed("make_splits (kfold 5)", make_splits, kept["track_id"], kept["label"], scheme=params["split_scheme"],
          n_splits=params["n_splits"], seed=params["seed"])

    audio = [p for p in manifest["audio_path"] if p]
    _, probe_s = timed(f"probe_duration x {len(audio)}", lambda: [probe_duration(p) for p in audio])
    sample = audio[:50]
    _, decode_s = timed(f"full decode x {len(sample)} (sample)", lambda: [sf.read(p) for p in sample])
    per_probe, per_decode = probe_s / len(audio), decode_s / len(sample)
    print(f"per file: header {per_probe * 1e3:.3f} ms, full decode {per_decode * 1e3:.1f} ms, "
          f"ratio {per_decode / per_probe:.0f}x")
    print(f"kept {len(kept)} of {len(ledger)}: {kept['label'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
