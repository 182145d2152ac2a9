"""The reliability suite (issue 13): bad input, real kills, determinism and bad invocations, end to end.

Each part complements the stage tests that docs/reliability.md lists; see its
section "The reliability suite".
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from messy_corpus import ENGLISH_WORDS, FAULTS, MESSY, english_lyrics, make_fault_corpus
from mer_utils import accounting, corpus, filtering, lyrics, mels
from mer_utils import run as runner
from mer_utils.paths import REPO_ROOT

#: Small mel settings: the fault corpus is about decisions, not sizes.
SMALL_MELS = dict(sample_rate=8000, clip_seconds=2.0, n_mels=32, n_frames=50, n_fft=512)
#: Rejections whose sentence names the audio file, or the lyrics file (when the track has one).
AUDIO_REASONS = {"missing_audio", "unreadable_audio", "too_short", "silent_audio", "extraction_failed"}
LYRICS_REASONS = {"missing_lyrics", "undecodable_lyrics", "too_few_words", "no_content_words", "lyrics_too_long"}
FAULT_SPECS = MESSY | FAULTS


# --- 1. the fault corpus through stages 01, 02 and 03 ------------------------------------------

def run_stages(csv_path, cache_root):
    """What notebooks 01, 02 and 03 do to the ledger, with their stage functions (no papermill)."""
    ledger = filtering.filter_tracks(corpus.from_csv(csv_path), balance=False)
    ledger = accounting.reopen_stage(ledger, mels.STAGE)
    report = mels.extract_all(accounting.kept(ledger), **SMALL_MELS, n_workers=1, progress=False,
                              cache_dir=cache_root / "mels")
    ledger = accounting.apply_rejections(ledger, report.rejections, stage=mels.STAGE)
    ledger = accounting.reopen_stage(ledger, lyrics.STAGE)
    tagged = lyrics.tag_all(accounting.kept(ledger), n_workers=1, cache_dir=cache_root / "tokens")
    return accounting.apply_rejections(ledger, tagged.rejections, stage=lyrics.STAGE), tagged


def named_file(row):
    """What a rejection's sentence must name: the file at fault, else the track."""
    if row.reason in AUDIO_REASONS and row.audio_path:
        return row.audio_path
    if row.reason in LYRICS_REASONS and row.lyrics_path:
        return row.lyrics_path
    return row.track_id.split("#")[0]


def test_fault_corpus_every_track_once_with_its_reason_through_stages_01_to_03(tmp_path):
    csv_path, expected = make_fault_corpus(tmp_path / "corpus")
    assert len(expected) >= 25 + 10, "at least 25 kinds of bad input, and the odd inputs that must be kept"
    ledger, tagged = run_stages(csv_path, tmp_path / "cache")
    accounting.validate_ledger(ledger)
    assert ledger["track_id"].is_unique and sorted(ledger["track_id"]) == sorted(expected), "every input row, once"
    if shutil.which("java") is None:  # Okt needs Java: the Korean rows are test_lyrics.py's business then
        expected = {track_id: reason for track_id, reason in expected.items()
                    if track_id not in FAULT_SPECS or FAULT_SPECS[track_id][3] != "ko"}
    rows = ledger.set_index("track_id", drop=False).loc[list(expected)]
    assert rows["reason"].to_dict() == expected
    for row in rows.itertuples():
        if expected[row.track_id]:
            assert row.status == "rejected" and row.reason in accounting.REASONS
            assert named_file(row) in row.detail, f"{row.track_id}: {row.detail!r} does not name the file"
        else:
            assert row.status == "kept" and row.label in {"positive", "negative"}, row.track_id
            assert tagged.tokens[row.track_id], f"{row.track_id} kept without words"
    assert {"None", "NA", "nan", "007"} <= set(tagged.tokens), "ids that look missing stay strings"
    assert {stage for stage in rows.loc[rows["status"] == "rejected", "stage"]} == set(accounting.STAGES), \
        "the corpus exercises the rejections of every stage"


# --- 2. real kills of stages 02 and 03 -----------------------------------------------------------

#: A stage in a subprocess: its rows (JSON) on stdin, the cache from MER_DATA_DIR, two worker processes.
STAGE_SCRIPTS = {
    "mels": "import json, sys\nfrom mer_utils import mels\n"
            "mels.extract_all(json.load(sys.stdin), sample_rate=22050, clip_seconds=10.0, n_mels=64, n_frames=256,"
            " n_fft=1024, n_workers=2, progress=False)",
    "tokens": "import json, sys\nfrom mer_utils import lyrics\nlyrics.tag_all(json.load(sys.stdin), n_workers=2)",
}


def start_stage(kind, rows, data_dir):
    process = subprocess.Popen([sys.executable, "-c", STAGE_SCRIPTS[kind]], stdin=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                               env={**os.environ, "MER_DATA_DIR": str(data_dir)})
    process.stdin.write(json.dumps(rows))
    process.stdin.close()
    return process


def descendants(pid):
    """The process ids below ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def cache_files(data_dir, kind, pattern):
    return sorted(p.relative_to(data_dir) for p in (data_dir / "cache" / kind).rglob(pattern))


def kill_part_way(kind, rows, data_dir, *, result):
    """Start the stage, SIGKILL it once a few results are cached; return (results then, killed pids)."""
    process = start_stage(kind, rows, data_dir)
    deadline = time.monotonic() + 60
    while len(cache_files(data_dir, kind, result)) < 3:
        assert process.poll() is None, f"the stage ended before the kill: {process.stderr.read()}"
        assert time.monotonic() < deadline, "the stage cached nothing in 60 s"
        time.sleep(0.01)
    children = descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    return len(cache_files(data_dir, kind, result)), [process.pid, *children]


def assert_resumes_to_the_clean_result(kind, rows, tmp_path, *, result):
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    done_at_kill, killed = kill_part_way(kind, rows, killed_dir, result=result)
    assert done_at_kill < len(rows), "the kill came part-way"
    assert len(killed) > 1, "the stage had worker processes when it was killed"
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in killed[1:]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in killed[1:] if alive(pid)], "a worker outlived the killed stage"

    for data_dir in (killed_dir, clean_dir):
        process = start_stage(kind, rows, data_dir)
        assert process.wait(timeout=120) == 0, process.stderr.read()
        process.stderr.close()
    results = cache_files(clean_dir, kind, result)
    assert cache_files(killed_dir, kind, result) == results and len(results) == len(rows)
    for name in results:
        assert (killed_dir / name).read_bytes() == (clean_dir / name).read_bytes(), f"{name} differs"
    # The resumed run removed what the killed processes were writing: no temporary is left.
    assert not cache_files(killed_dir, kind, ".*.tmp") and not cache_files(clean_dir, kind, ".*.tmp")


def test_a_killed_mel_extraction_resumes_to_the_clean_features(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(20):
        path = tmp_path / "audio" / f"t{i:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.2 * rng.standard_normal(10 * 22050)).astype(np.float32), 22050)
        rows.append({"track_id": f"t{i:02d}", "audio_path": str(path)})
    assert_resumes_to_the_clean_result("mels", rows, tmp_path, result="*.npy")


def test_a_killed_lyrics_tagging_resumes_to_the_clean_words(tmp_path):
    rows = [{"track_id": f"t{i:02d}", "lyrics_text": f"{ENGLISH_WORDS[i % 8]}{i} " + english_lyrics(600),
             "lyrics_path": "", "language": "en", "status": "kept"} for i in range(40)]
    assert_resumes_to_the_clean_result("tokens", rows, tmp_path, result="*.json")


# --- 3. determinism of the smoke run's data stages: in test_end_to_end.py, beside the run it reads -------

# --- 4. bad invocations: exit status 2, a message naming the parameter, nothing created ---------------

#: (arguments, what the message must say). Checked against the study's own notebooks and the smoke
#: profile; the cases test_runner.py asserts already (unknown profile, unknown parameter,
#: min_duration_s=abc, balance_classes=maybe on its own notebooks) are not repeated.
BAD_INVOCATIONS = [
    (["--set", "epochs=abc"], "epochs='abc': must be an integer"),
    (["--set", "n_splits=abc"], "n_splits='abc': must be an integer"),
    (["--set", "clip_seconds=-1"], "clip_seconds=-1: must be > 0"),
    (["--set", "balance_classes=maybe"], "balance_classes='maybe': must be true or false (declared `bool` in 01_data)"),
    (["--set", "executor=tcp://127.0.0.1:9"], "no Dask scheduler reachable at tcp://127.0.0.1:9"),
    (["--set", "corpus=csv", "--set", "split_scheme=sometimes"], "split_scheme='sometimes': must be one of"),
    (["--only", "02"], "01_data.ipynb (not run)"),
]


@pytest.mark.parametrize("arguments, message", BAD_INVOCATIONS, ids=lambda value: " ".join(value)
                         if isinstance(value, list) else None)
def test_bad_invocations_exit_2_and_name_the_problem(arguments, message, tmp_path, capsys):
    status = runner.main(["--profile", "smoke", *arguments], runs_dir=tmp_path / "runs")
    error = capsys.readouterr().err
    assert status == runner.EXIT_USAGE == 2, error
    assert error.startswith("error: ") and message in error, error
    assert "Traceback" not in error
    assert not (tmp_path / "runs").exists(), "nothing is created before the checks pass"
