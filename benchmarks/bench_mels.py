"""Mel extraction on the real dataset: the project against a naive loop and against decoding alone.

    .venv/bin/python benchmarks/bench_mels.py [--dataset DIR] [--limit N] [--workers N] [--repeat R]
                                              [--stereo-minute]

What the mel stage must reach, on 2 cores: a cold extraction (empty cache)
at least 2x faster than a naive loop of ``librosa.load`` +
``librosa.feature.melspectrogram`` in one process; at most 1.25x the time
it takes just to decode the same files; a warm rerun (everything cached)
at most 2 % of the cold one.

Everything is measured in this process, one after another, on the same
files, whose bytes are read once beforehand so that every contender finds
them in the page cache. Decoding alone is timed both in one process and on
the same worker processes as the project (the true floor of a parallel
extraction). With ``--repeat``, the whole sequence runs R times and the
best (smallest) time of each contender is used for the ratios, the usual
way to filter out the disturbance of other jobs on a shared CPU; the
medians are printed too. BLAS and OpenMP are limited to one thread, so
"one process" means one core (librosa's mel product would otherwise spin a
BLAS thread per core, which on a shared CPU makes the naive loop slower and
its times erratic).

One more contender bounds what any implementation could reach: "decode +
FFT" decodes, then only transforms the ``n_frames`` windows of ``n_fft``
samples that the feature needs (no resampling, window, filters or log).
No mel-spectrogram of this shape can cost less.

With ``--stereo-minute`` the clips are first re-encoded as the paper's
input would be: one minute (two consecutive clips joined), stereo, 44.1
kHz, ~320 kbit/s constant bit rate (the right channel a slightly delayed
copy of the left), and measured with ``clip_seconds`` 60. The copy is
cached under ``data/cache/bench_stereo_minute`` (never committed: it is
derived from the dataset). Decoding costs more there and the transform
the same, so the ratios to decoding shrink.
"""

import argparse
import io
import math
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from mer_utils.parallel import THREAD_VARIABLES, available_cores, map_unordered, resolve_workers

os.environ.update({name: "1" for name in THREAD_VARIABLES})  # before numpy loads its BLAS

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from mer_utils import config, melspec  # noqa: E402
from mer_utils.paths import MIREX_DIR, cache_dir  # noqa: E402

#: The --stereo-minute copy: the right channel is the left one, this much later and 10 % softer.
STEREO_DELAY_S = 0.0007


# Spawned workers import this script again: it imports mer_utils.mels (and pandas) only in the
# functions the parent runs, so that they start as light as the project's own workers.


def encode_stereo_minute(task):
    """Join two clips into one stereo MP3 of (up to) a minute at ~320 kbit/s CBR, written at ``target``."""
    (first, second), target = task
    left = np.concatenate([melspec._mix_to_mono(sf.read(path, dtype="float32", always_2d=True)[0])
                           for path in (first, second)])
    rate = sf.info(first).samplerate
    delay = int(STEREO_DELAY_S * rate)
    right = 0.9 * np.concatenate([np.zeros(delay, dtype=np.float32), left[:-delay]])
    partial = target.with_name(f".{target.stem}.{os.getpid()}.part")
    sf.write(partial, np.stack([left[:60 * rate], right[:60 * rate]], axis=1), rate, format="MP3",
             bitrate_mode="CONSTANT", compression_level=0.0)  # level 0: the highest bit rate, 320 kbit/s
    os.replace(partial, target)
    return target


def stereo_minute_copy(files, workers):
    """Paths of the --stereo-minute copy of ``files`` (consecutive pairs), re-encoding what is not cached yet."""
    folder = cache_dir("bench_stereo_minute")
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [((files[i], files[i + 1]), folder / f"{files[i].stem}-{files[i + 1].stem}.mp3")
             for i in range(0, len(files) - 1, 2)]
    missing = [pair for pair in pairs if not pair[1].exists()]
    if missing:
        print(f"re-encoding {len(missing)} stereo minutes into {folder} (once; about 2 s each per core)")
    for (_, target), result in map_unordered(encode_stereo_minute, missing, n_workers=workers, desc="re-encoding"):
        if isinstance(result, Exception):
            raise SystemExit(f"could not write {target}: {result}")
    return [target for _, target in pairs]


def read_head(path, clip_seconds):
    """The first ``clip_seconds`` of a file as float32 frames (n_samples, channels), and its rate."""
    with sf.SoundFile(path) as audio:
        return audio.read(math.ceil(clip_seconds * audio.samplerate), dtype="float32", always_2d=True), audio.samplerate


def decode_only(task):
    """Read the first ``clip_seconds`` of a file, nothing else: the floor."""
    path, clip_seconds = task
    return len(read_head(path, clip_seconds)[0])


def decode_and_transform(task):
    """Decode, then only the FFTs the feature needs (no resampling, window, filters or log): a bound."""
    import scipy.fft  # here, not at the top: the decode-only workers start without it

    path, params = task
    native, rate = read_head(path, params["clip_seconds"])  # the floor's own read
    clip = native[::max(1, rate // params["sample_rate"]), 0]  # decimation without a filter: free
    n_fft, n_frames = params["n_fft"], params["n_frames"]
    frames = melspec._centered_frames(clip, n_fft=n_fft, hop=melspec.hop_length(len(clip), n_frames),
                                      n_frames=n_frames)
    for start in range(0, n_frames, melspec._FRAMES_PER_BLOCK):  # the project's block size
        scipy.fft.rfft(frames[start:start + melspec._FRAMES_PER_BLOCK], axis=-1)
    return n_frames


def naive_feature(path, params):
    """What one writes without thinking about speed: librosa.load, then librosa's mel-spectrogram."""
    import librosa

    y, sr = librosa.load(path, sr=params["sample_rate"], mono=True, duration=params["clip_seconds"])
    y = librosa.util.fix_length(y, size=melspec.clip_samples(sample_rate=sr, clip_seconds=params["clip_seconds"]))
    power = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=params["n_fft"], n_mels=params["n_mels"],
                                           hop_length=melspec.hop_length(len(y), params["n_frames"]))
    return librosa.power_to_db(power, ref=1.0, amin=config.LOG_AMIN, top_db=None)[:, :params["n_frames"]]


def stage_profile(files, params):
    """Milliseconds per clip of each step of the project's extraction, in this process."""
    steps = {"decode + mix to mono (soundfile)": 0.0, "resample (soxr HQ)": 0.0, "mel-spectrogram": 0.0, "store (float16 .npy)": 0.0}
    for path in files:
        t0 = time.perf_counter()
        native, rate = melspec._decode_head(path, clip_seconds=params["clip_seconds"], sf=sf)
        t1 = time.perf_counter()
        clip = melspec._resample(native, rate, params["sample_rate"])
        t2 = time.perf_counter()
        feature = melspec.mel_spectrogram(clip, sample_rate=params["sample_rate"], n_mels=params["n_mels"],
                                       n_frames=params["n_frames"], n_fft=params["n_fft"])
        t3 = time.perf_counter()
        np.save(io.BytesIO(), feature.astype(melspec.STORE_DTYPE))
        t4 = time.perf_counter()
        for step, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            steps[step] += seconds
    return {step: 1000 * seconds / len(files) for step, seconds in steps.items()}


def timed(func):
    """Run ``func``; return (wall seconds, CPU seconds of this process and its finished children), result."""
    def cpu():
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pool workers, once joined
        return time.process_time() + children.ru_utime + children.ru_stime

    wall, used = time.perf_counter(), cpu()
    result = func()
    return (time.perf_counter() - wall, cpu() - used), result


def one_round(files, params, workers):
    """All five measurements once: ({name: (wall s, CPU s)}, project features, naive features, report)."""
    from mer_utils import mels

    rows = [{"track_id": p.stem, "audio_path": str(p)} for p in files]
    tasks = [(str(p), params["clip_seconds"]) for p in files]
    figures = {}
    figures["decode only, 1 process"], _ = timed(lambda: [decode_only(t) for t in tasks])
    figures[f"decode only, {workers} workers"], _ = timed(
        lambda: list(map_unordered(decode_only, tasks, n_workers=workers, progress=False)))
    figures[f"decode + FFT (bound), {workers} workers"], _ = timed(
        lambda: list(map_unordered(decode_and_transform, [(str(p), params) for p in files], n_workers=workers,
                                   progress=False)))
    figures["naive librosa loop, 1 process"], naive = timed(lambda: {p.stem: naive_feature(p, params) for p in files})
    with tempfile.TemporaryDirectory() as cache:
        figures[f"project cold, {workers} workers"], report = timed(
            lambda: mels.extract_all(rows, **params, n_workers=workers, cache_dir=cache, progress=False))
        figures["project warm rerun"], warm = timed(
            lambda: mels.extract_all(rows, **params, n_workers=workers, cache_dir=cache, progress=False))
        assert warm.cache_misses == 0, "the warm rerun recomputed something"
        ours = {t: np.load(p).astype(np.float32) for t, p in report.features.items()}
    return figures, ours, naive, report


def print_table(rounds, n_clips):
    """Best and median wall time of each contender, and its CPU time in the best round."""
    best = {name: min((r[name] for r in rounds), key=lambda f: f[0]) for name in rounds[0]}
    median = {name: statistics.median(r[name][0] for r in rounds) for name in rounds[0]}
    print(f"\n{'measurement':36s} {'best s':>8s} {'ms/clip':>8s} {'median s':>9s} {'CPU s':>7s} {'CPU ms/clip':>12s}")
    for name, (wall, cpu) in best.items():
        print(f"{name:36s} {wall:8.2f} {1000 * wall / n_clips:8.1f} {median[name]:9.2f} {cpu:7.2f} "
              f"{1000 * cpu / n_clips:12.1f}")
    return {name: wall for name, (wall, _) in best.items()}, median


def print_ratios(best, median, workers):
    cold = f"project cold, {workers} workers"
    print(f"\n{'ratio (best wall times)':48s} {'value':>7s}  target   {'(medians)':>9s}")
    for name, numerator, denominator, target, met in [
        ("naive loop / project cold", "naive librosa loop, 1 process", cold, ">= 2", lambda r: r >= 2),
        (f"project cold / decode only ({workers} workers)", cold, f"decode only, {workers} workers", "<= 1.25",
         lambda r: r <= 1.25),
        ("project cold / decode only (1 process)", cold, "decode only, 1 process", "<= 1.25", lambda r: r <= 1.25),
        (f"bound: decode + FFT / decode only ({workers} workers)", f"decode + FFT (bound), {workers} workers",
         f"decode only, {workers} workers", "<= 1.25", lambda r: r <= 1.25),
        ("project warm / project cold", "project warm rerun", cold, "<= 0.02", lambda r: r <= 0.02),
    ]:
        value = best[numerator] / best[denominator]
        print(f"{name:48s} {value:7.3f}  {target:8s} {'met' if met(value) else 'MISSED':6s} "
              f"({median[numerator] / median[denominator]:.3f})")


def agreement(ours, naive):
    """Largest difference (dB) between the project's and the naive features, over bins within 60 dB of the peak."""
    worst = 0.0
    for track_id, feature in ours.items():
        loud = naive[track_id] > naive[track_id].max() - 60
        worst = max(worst, float(np.abs(feature - naive[track_id])[loud].max()))
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=str(MIREX_DIR), help="the MIREX-like dataset folder")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips (0: all)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes (0: all cores)")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole sequence R times, print medians")
    parser.add_argument("--stereo-minute", action="store_true",
                        help="measure on a re-encoded copy shaped like the paper's input (see above)")
    parser.add_argument("--clip-seconds", type=float, default=0,
                        help="clip length (default: 30, the dataset's clips; 60 with --stereo-minute)")
    args = parser.parse_args()

    files = sorted((Path(args.dataset) / "dataset" / "Audio").glob("*.mp3"))[: args.limit or None]
    if not files:
        raise SystemExit(f"no MP3 clips under {args.dataset}/dataset/Audio")
    workers = resolve_workers(args.workers)
    if args.stereo_minute:
        files = stereo_minute_copy(files, workers)
    clip_seconds = args.clip_seconds or (60.0 if args.stereo_minute else 30.0)
    params = dict(sample_rate=config.SAMPLE_RATE, clip_seconds=clip_seconds, n_mels=config.N_MELS,
                  n_frames=config.N_FRAMES, n_fft=config.N_FFT)
    megabytes = sum(len(p.read_bytes()) for p in files) / 1e6  # into the page cache for everyone
    naive_feature(files[0], params)  # librosa's imports and first-call set-up are not the loop's cost
    print(f"{len(files)} clips ({megabytes:.0f} MB MP3), {params}, {workers} workers of {available_cores()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")

    rounds = []
    for index in range(args.repeat):
        figures, ours, naive, report = one_round(files, params, workers)
        rounds.append(figures)
        print(f"round {index + 1}: " + ", ".join(f"{k} {wall:.2f} s" for k, (wall, _) in figures.items()))
    best, median = print_table(rounds, len(files))
    print_ratios(best, median, workers)
    profile = stage_profile(files[:50], params)
    print(f"\nwhere the time goes, one process, first {min(50, len(files))} clips (ms per clip): "
          + ", ".join(f"{step} {ms:.1f}" for step, ms in profile.items()))
    print(f"extracted {len(report.features)}, rejected {len(report.rejections)} "
          f"({', '.join(sorted({r.reason for r in report.rejections})) or 'none'}); "
          f"largest |project - naive| within 60 dB of each clip's peak: {agreement(ours, naive):.3f} dB "
          f"(float16 storage); load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
