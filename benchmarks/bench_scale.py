"""The paper's size: a generated corpus through 01-03 and one epoch of each model, per stage wall time and peak RSS.

    .venv/bin/python benchmarks/bench_scale.py [--tracks 7484] [--rounds 2] [--workers 2] [--keep DIR]

Runs the ``paper`` profile (one-minute clips, 128 x 1024 mels, paper
vocabulary) on a demo corpus of ``--tracks`` generated tracks, with
``epochs=1`` and ``n_splits=1``, stage by stage: every notebook group
(01, 02, 03, 04 x3 models, 05 x2, 06) runs in its own runner process
(:func:`mer_utils.run.execute`, in a fresh folder with ``MER_DATA_DIR`` pointed
at an empty cache, so everything is computed). For each stage it prints

- the wall time of the runner process (kernel start included) and the
  notebooks' own time from ``run.json``;
- the peak resident memory of the largest process of the stage (the kernel,
  a worker): exact, from ``getrusage(RUSAGE_CHILDREN)`` of a wrapper process;
- the peak of the memory of all its processes together (runner, kernel,
  workers; proportional set size, so shared pages count once), sampled every
  0.2 s with psutil;
- the cost per 1,000 input tracks.

Then, on the same kept tracks, mel extraction with the process pool against
a Dask LocalCluster of as many workers (each from an empty cache,
``--rounds`` rounds taking turns), the time to (re)build the run's feature
matrix, and a projection to 10^6 tracks on N workers from the measured
per-track costs. Temporary files (the corpus: ~0.6 MB per track, features and
matrix: 0.25 MB per track each) are deleted unless ``--keep`` names a folder.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mer_utils.accounting import read_ledger

#: Stages in order: (name, notebook numbers the runner executes).
STAGES = (("01 data", "01"), ("02 mels", "02"), ("03 lyrics", "03"), ("04 audio models (3)", "04"),
          ("05 lyrics models (2)", "05"), ("06 fused model", "06"))

#: Starts the stage runner's line of figures on stdout (a Java VM may print after it, at its exit).
FIGURES_MARK = "stage figures: "

#: Runs one stage of the run with the runner and prints its wall time and the largest child's peak RSS.
STAGE_RUNNER = """
import json, resource, sys, time
from mer_utils import run
args = json.loads(sys.argv[1])
profile = run.load_profile("paper", overrides=args["overrides"])
start = time.perf_counter()
run.execute(profile, run_id="scale", runs_dir=args["runs_dir"], only={args["stage"]}, log=lambda *a, **k: None)
print("stage figures: " + json.dumps({"wall_s": time.perf_counter() - start,
                  "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


class TreeMemory:
    """Samples the summed PSS of a process and its descendants in a thread; ``peak`` in bytes."""

    def __init__(self, pid, interval_s=0.2):
        import psutil

        self.root, self.interval_s, self.peak = psutil.Process(pid), interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for process in processes:
                try:  # proportional set size: a page shared by n processes counts 1/n in each
                    total += process.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval_s)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def run_stage(stage, *, runs_dir, overrides, env):
    """Run one notebook group in a wrapper process: its figures (wall, largest process, tree sum)."""
    args = json.dumps({"stage": stage, "runs_dir": str(runs_dir), "overrides": overrides})
    process = subprocess.Popen([sys.executable, "-c", STAGE_RUNNER, args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    out, err = process.communicate()
    tree_peak = memory.stop()
    if process.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{err[-3000:]}")
    marked = [line[len(FIGURES_MARK):] for line in out.splitlines() if line.startswith(FIGURES_MARK)]
    if not marked:
        raise RuntimeError(f"stage {stage} printed no figures; its output ends:\n{out[-2000:]}\n{err[-2000:]}")
    figures = json.loads(marked[-1])
    return {"wall_s": figures["wall_s"], "largest_mb": max(figures["self_kb"], figures["children_kb"]) / 1024,
            "tree_mb": tree_peak / 2**20}


def notebook_times(run_dir, stage):
    """Seconds of the stage's notebooks, from run.json."""
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    return sum(e.get("wall_s", 0) for e in record["notebooks"] if e["output"].startswith(stage))


def training_figures(run_dir):
    """``{model: (training tracks, validation tracks, seconds)}`` of split 0, from provenance.json."""
    figures = {}
    for provenance in sorted((run_dir / "models").glob("*/split_0/provenance.json")):
        record = json.loads(provenance.read_text(encoding="utf-8"))
        figures[provenance.parent.parent.name] = (record["n_train"], record["n_val"], record["wall_s"])
    return figures


def compare_executors(run_dir, scratch, *, workers, rounds):
    """Extraction of the kept tracks from an empty cache: process pool against a Dask LocalCluster.

    Returns ``{executor: {"walls": [...], "cpu_per_track": s, "fixed": s}}`` and the number of tracks;
    ``fixed`` is the start and stop of the pool / cluster, timed on two trivial items.
    """
    from mer_utils import accounting, mels
    from mer_utils.parallel import map_unordered

    ledger = accounting.read_ledger(run_dir / "data" / "tracks.csv")
    tracks = ledger[(ledger["status"] == "kept") | (ledger["stage"] != accounting.STAGES[0])]  # 02's input
    figures = {executor: {"walls": [], "cpu": [], "fixed": []} for executor in ("local", "dask")}
    for round_ in range(rounds):
        for executor, figure in figures.items():
            start = time.perf_counter()
            list(map_unordered(abs, [1, 2], n_workers=workers, executor=executor, progress=False))
            figure["fixed"].append(time.perf_counter() - start)
            cache = scratch / f"cache-{executor}-{round_}"
            report = mels.extract_all(tracks.assign(status="kept"), n_workers=workers, executor=executor,
                                      cache_dir=cache, progress=False)
            figure["walls"].append(report.wall_s)
            figure["cpu"].append(report.compute_s / max(report.cache_misses, 1))
            shutil.rmtree(cache)
        print(f"  round {round_ + 1}: process pool {figures['local']['walls'][-1]:.1f} s, Dask LocalCluster "
              f"{figures['dask']['walls'][-1]:.1f} s ({len(tracks)} tracks, {workers} workers)", flush=True)
    return {executor: {"walls": f["walls"], "cpu_per_track": min(f["cpu"]), "fixed": min(f["fixed"])}
            for executor, f in figures.items()}, len(tracks)


def print_executors(figures, n_tracks, *, workers, paper_tracks=7484, kept_share):
    """Best and median walls, fixed and per-track costs, and the ratio expected at the paper's size."""
    import statistics

    per_track = {}
    for executor, f in figures.items():
        best, median = min(f["walls"]), statistics.median(f["walls"])
        per_track[executor] = (best - f["fixed"]) / n_tracks
        print(f"  {executor:6s} best {best:6.1f} s, median {median:6.1f} s; start + stop {f['fixed']:4.1f} s; "
              f"{f['cpu_per_track'] * 1e3:5.1f} ms of CPU per track; {per_track[executor] * 1e3:5.1f} ms of wall "
              f"per track on {workers} workers")
    local, dask = figures["local"], figures["dask"]
    print(f"  Dask / pool: best {min(dask['walls']) / min(local['walls']):.3f}, median "
          f"{statistics.median(dask['walls']) / statistics.median(local['walls']):.3f}")
    n = paper_tracks * kept_share
    expected = (dask["fixed"] + n * per_track["dask"]) / (local["fixed"] + n * per_track["local"])
    print(f"  expected at {paper_tracks} generated tracks ({n:.0f} to extract): Dask / pool {expected:.3f}")


def matrix_build_s(run_dir):
    """Seconds to rebuild the run's feature matrix from its per-track cache."""
    from mer_utils import mels
    from mer_utils.paths import RunLayout

    layout = RunLayout(run_dir)
    shutil.rmtree(layout.matrix_dir("mels"), ignore_errors=True)
    start = time.perf_counter()
    matrix = mels.open_matrix(layout, memory_budget_mb=0)
    return time.perf_counter() - start, len(matrix), matrix.nbytes


def print_projection(*, cpu_per_track_s, efficiency, train_s_per_track):
    print("\nprojection to 10^6 tracks (measured per-track costs; storage and scheduler limits in docs/scaling.md)")
    print(f"  mel extraction: {cpu_per_track_s * 1e3:.1f} ms of one core per track here, pool efficiency "
          f"{efficiency:.0%}")
    for n in (2, 16, 100, 1000):
        hours = 1e6 * cpu_per_track_s / (n * efficiency) / 3600
        print(f"    {n:5d} workers: {hours:8.2f} h")
    for model, seconds in sorted(train_s_per_track.items()):
        print(f"  {model:14s} one epoch on this CPU: {seconds * 1e3:.1f} ms per track -> "
              f"{1e6 * seconds / 3600:.1f} h per epoch of 10^6 tracks")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=7484, help="generated tracks (default: the paper's 7,484)")
    parser.add_argument("--workers", type=int, default=2,
                        help="workers of the pool / cluster comparison (default 2; the stages use the profile's)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the pool / cluster comparison")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary one, deleted)")
    parser.add_argument("--stages", default="01,02,03,04,05,06", help="notebook groups to run")
    args = parser.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MER_DATA_DIR": str(work / "data"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    overrides = {"demo_n_tracks": args.tracks, "epochs": 1, "n_splits": 1}  # n_workers as the profile says
    run_dir = work / "runs" / "paper" / "scale"
    print(f"paper profile, {args.tracks} generated tracks, one epoch, one split; "
          f"{os.cpu_count()} CPUs; work folder {work}", flush=True)
    try:
        rows = []
        for name, stage in STAGES:
            if stage not in args.stages.split(","):
                continue
            figures = run_stage(stage, runs_dir=work / "runs", overrides=overrides, env=env)
            figures["notebooks_s"] = notebook_times(run_dir, stage)
            rows.append((name, figures))
            print(f"  {name:22s} wall {figures['wall_s']:7.1f} s (notebooks {figures['notebooks_s']:7.1f} s)  "
                  f"largest process {figures['largest_mb']:6.0f} MB  all processes {figures['tree_mb']:6.0f} MB  "
                  f"{1000 * figures['wall_s'] / args.tracks:6.1f} s per 1,000 tracks", flush=True)
        os.environ["MER_DATA_DIR"] = env["MER_DATA_DIR"]
        build_s, n_rows, nbytes = matrix_build_s(run_dir)
        print(f"feature matrix: {n_rows} tracks, {nbytes / 2**30:.2f} GiB, rebuilt in {build_s:.1f} s "
              f"({1000 * build_s / n_rows:.1f} s per 1,000 tracks)", flush=True)
        print("mel extraction of the kept tracks, empty cache each time:", flush=True)
        figures, n_tracks = compare_executors(run_dir, work, workers=args.workers, rounds=args.rounds)
        n_input = len(read_ledger(run_dir / "data" / "tracks.csv"))
        print_executors(figures, n_tracks, workers=args.workers, kept_share=n_tracks / n_input)
        cpu_per_track = figures["local"]["cpu_per_track"]
        efficiency = n_tracks * cpu_per_track / (args.workers * min(figures["local"]["walls"]))
        per_track = {m: s / (n_train + n_val) for m, (n_train, n_val, s) in training_figures(run_dir).items()}
        print_projection(cpu_per_track_s=cpu_per_track, efficiency=efficiency, train_s_per_track=per_track)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
