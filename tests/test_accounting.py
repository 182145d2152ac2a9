"""The ledger and the one rejection type every stage uses."""

import ast
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

import mer_utils
from mer_utils import accounting
from mer_utils.accounting import REASONS, Rejected, StageReport

PACKAGE = Path(mer_utils.__file__).parent


def test_rejected_accepts_only_known_reasons():
    with pytest.raises(ValueError, match=r"unknown rejection reason 'too_loud' for track 't1'; known reasons: .*too_short"):
        Rejected("too_loud", "audio file a.wav is too loud", track_id="t1")
    with pytest.raises(ValueError, match=r"unknown rejection reason 'too_loud'; known"):
        Rejected("too_loud", "audio file a.wav is too loud")


def test_rejected_is_raised_then_recorded_for_its_track():
    with pytest.raises(ValueError, match="^audio file a.wav is silent$") as info:  # a ValueError naming the file
        raise Rejected("silent_audio", "audio file a.wav is silent")
    record = info.value.of("t1")
    assert (record.track_id, record.reason, record.detail) == ("t1", "silent_audio", "audio file a.wav is silent")
    assert info.value.track_id is None, "of() returns a new record"
    assert record == Rejected("silent_audio", "audio file a.wav is silent", track_id="t1")
    assert record != Rejected("silent_audio", "audio file a.wav is silent", track_id="t2")
    assert len({record, record.of("t1")}) == 1
    assert pickle.loads(pickle.dumps(record)) == record, "records cross worker-process boundaries"


def _rejected_calls():
    """``(file, line, reason or None)`` of every ``Rejected(...)`` call in mer_utils (None: not a literal)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name != "Rejected":
                continue
            reason = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "reason"), None)
            literal = reason.value if isinstance(reason, ast.Constant) else None
            yield path.relative_to(PACKAGE), node.lineno, literal


def test_every_rejection_in_the_code_uses_a_known_reason_and_every_reason_is_used():
    """Statically, for literal reasons; a reason passed through (a cached marker) is checked by Rejected itself."""
    calls = list(_rejected_calls())
    literal = {reason for _, _, reason in calls if reason is not None}
    unknown = [(str(f), line, reason) for f, line, reason in calls if reason is not None and reason not in REASONS]
    assert not unknown, f"rejections with reasons missing from accounting.REASONS: {unknown}"
    assert literal == set(REASONS), f"reasons no code gives: {sorted(set(REASONS) - literal)}"


def test_no_other_rejection_type():
    """Only accounting.Rejected carries a ``reason``: no stage has its own exception or record for it."""
    others = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name != "Rejected":
                fields = {t.attr for n in ast.walk(node) if isinstance(n, ast.Assign) for t in n.targets
                          if isinstance(t, ast.Attribute)}
                fields |= {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)
                           and isinstance(n.target, ast.Name)}
                if "reason" in fields:
                    others.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert not others


def ledger_of(track_ids, *, status="kept"):
    ledger = pd.DataFrame({c: "" for c in accounting.LEDGER_COLUMNS}, index=range(len(track_ids)))
    ledger["track_id"], ledger["label"], ledger["status"], ledger["stage"] = track_ids, "positive", status, "01_data"
    return ledger


def test_ledger_ids_stay_strings_and_the_file_is_replaced_atomically(tmp_path):
    ids = ["NA", "None", "nan", "NULL", "#N/A", "007", "1.0"]
    path = tmp_path / "tracks.csv"
    accounting.write_ledger(ledger_of(ids), path)
    first_inode = os.stat(path).st_ino
    ledger = accounting.read_ledger(path)
    assert ledger["track_id"].tolist() == ids and ledger["reason"].tolist() == [""] * len(ids)
    accounting.write_ledger(ledger, path)
    assert os.stat(path).st_ino != first_inode, "written beside and renamed, not overwritten in place"
    assert [p.name for p in tmp_path.iterdir()] == ["tracks.csv"]


def test_apply_rejections_takes_rejected_records():
    ledger = ledger_of(["a", "b", "c"])
    ledger = accounting.apply_rejections(ledger, [Rejected("silent_audio", "a.wav is silent", track_id="a")],
                                         stage="02_mels")
    ledger = accounting.apply_rejections(ledger, [Rejected("empty_lyrics", "a.txt is empty", track_id="a"),
                                                  Rejected("empty_lyrics", "b.txt is empty", track_id="b")],
                                         stage="03_lyrics")
    assert ledger[["status", "reason", "stage"]].values.tolist() == [
        ["rejected", "silent_audio", "02_mels"], ["rejected", "empty_lyrics", "03_lyrics"], ["kept", "", "01_data"]]
    with pytest.raises(ValueError, match="02_mels: cannot reject unknown track None"):
        accounting.apply_rejections(ledger, [Rejected("silent_audio", "x.wav is silent")], stage="02_mels")


def test_stage_report_rejection_table():
    report = StageReport(rejections=[Rejected("too_short", "a.wav lasts 3 s", track_id="a")])
    assert report.rejection_table().values.tolist() == [["a", "too_short", "a.wav lasts 3 s"]]
    assert list(StageReport().rejection_table().columns) == ["track_id", "reason", "detail"]


def test_stages_are_the_modules_stages_in_run_order():
    from mer_utils import filtering, lyrics, mels

    assert accounting.STAGES == (filtering.STAGE, mels.STAGE, lyrics.STAGE)


def staged_ledger():
    """Five tracks: kept, and rejected by 01 (no label), 01 (labelled), 02 and 03."""
    ledger = ledger_of(["kept", "r01", "r01_labelled", "r02", "r03"])
    rejections = {"r01": ("no_tags", "01_data"), "r01_labelled": ("balanced_out", "01_data"),
                  "r02": ("unreadable_audio", "02_mels"), "r03": ("tagger_failed", "03_lyrics")}
    for track_id, (reason, stage) in rejections.items():
        ledger = accounting.apply_rejections(ledger, [Rejected(reason, f"{track_id}: {reason}", track_id=track_id)],
                                             stage=stage)
    ledger.loc[ledger["track_id"] == "r01", "label"] = ""
    return ledger


@pytest.mark.parametrize("stage, reopened", [("02_mels", {"r02", "r03"}), ("03_lyrics", {"r03"})])
def test_reopen_stage_keeps_again_what_this_stage_and_later_ones_rejected(stage, reopened):
    before = staged_ledger()
    after = accounting.reopen_stage(before, stage)
    by_id = after.set_index("track_id")
    assert set(accounting.kept_ids(after)) == {"kept"} | reopened
    for track_id in reopened:
        assert by_id.loc[track_id, ["status", "reason", "detail", "stage", "label"]].tolist() == \
               ["kept", "", "", "01_data", "positive"], "kept as 01 kept it, with its label"
    untouched = before["track_id"].isin(set(before["track_id"]) - reopened)
    pd.testing.assert_frame_equal(after[untouched], before[untouched])
    assert before.loc[before["track_id"] == "r03", "status"].item() == "rejected", "the input is not modified"


def test_reopen_stage_refuses_the_first_or_an_unknown_stage():
    for stage in ("01_data", "04_audio_model", "mels"):
        with pytest.raises(ValueError, match=f"cannot reopen stage '{stage}': the stages after 01_data are "
                                             "02_mels, 03_lyrics"):
            accounting.reopen_stage(staged_ledger(), stage)


@pytest.mark.parametrize("notebook, module", [("02_mels", "mels"), ("03_lyrics", "lyrics")])
def test_stage_notebooks_start_from_the_reopened_ledger(notebook, module):
    """Notebooks 02 and 03 reopen their stage where they read the ledger (a rerun recomputes, issue 13)."""
    import json

    cells = json.loads((PACKAGE.parent / "notebooks" / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    reads = [line for cell in code for line in cell.splitlines() if "read_ledger(" in line]
    stage = "mels.STAGE" if module == "mels" else "STAGE"
    assert reads == [f"ledger = accounting.reopen_stage(accounting.read_ledger(layout.tracks_csv), {stage})"]


def test_kept_and_rejected_read_the_ledger_or_its_file(tmp_path):
    ledger = staged_ledger()
    path = tmp_path / "tracks.csv"
    accounting.write_ledger(ledger, path)
    for source in (ledger, path):
        assert accounting.kept(source)["track_id"].tolist() == ["kept"]
        table = accounting.rejected(source)
        assert table["track_id"].tolist() == ["r01", "r01_labelled", "r02", "r03"]
        assert table["stage"].tolist() == ["01_data", "01_data", "02_mels", "03_lyrics"]
        assert list(table.columns) == list(accounting.LEDGER_COLUMNS)


TRICKY_IDS = ["None", "nan", "NA", "NULL", "#N/A", "n/a", "007", "1.0"]


def test_every_csv_reader_of_track_ids_keeps_them_as_strings(tmp_path, layout):
    """Issue 13: pandas' defaults read the ids None, nan, NA as NaN (and 007 as 7)."""
    import numpy as np

    from mer_utils import corpus, mels, outputs, results

    table = pd.DataFrame({"track_id": TRICKY_IDS, "audio_path": "a.wav", "lyrics": "words", "tags": "happy"})
    table.to_csv(tmp_path / "metadata.csv", index=False)
    assert corpus.from_csv(tmp_path / "metadata.csv")["track_id"].tolist() == TRICKY_IDS

    feature = tmp_path / "feature.npy"
    np.save(feature, np.zeros((2, 3), np.float16))
    mels.write_index(layout, {track_id: feature for track_id in TRICKY_IDS})
    assert mels.MelStore.open(layout).ids == TRICKY_IDS

    outputs.save_split(layout.model_dir("fused", 0), track_ids=TRICKY_IDS, labels=[0, 1] * 4,
                       prob_positive=[0.2, 0.8] * 4, scores={"accuracy": 1.0}, provenance={})
    assert results.collect_predictions(layout)["track_id"].tolist() == TRICKY_IDS


def test_every_read_csv_in_the_package_keeps_default_na_off():
    """A new reader of ids cannot forget it: each pd.read_csv call says keep_default_na=False or forwards
    its caller's options (outputs._read_csv, whose history reader alone wants NaN for a diverged loss)."""
    careless = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "read_csv":
                options = {k.arg: k.value for k in node.keywords}
                forwards = None in options  # **options
                off = isinstance(options.get("keep_default_na"), ast.Constant) and options["keep_default_na"].value is False
                if not (off or forwards):
                    careless.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not careless


def test_feature_account_gives_every_track_of_every_source_its_features_or_its_reason():
    musicnn = StageReport(rejections=[Rejected("too_short", "audio file b.mp3: a clip of 1.00 s", track_id="b")])
    lyrics = StageReport()
    account = accounting.feature_account(["a", "b", "NA"], {"musicnn": musicnn, "lyrics_features": lyrics,
                                                           "absent": None})
    assert list(account.columns) == list(accounting.FEATURE_ACCOUNT_COLUMNS)
    assert account.groupby("features").size().to_dict() == {"musicnn": 3, "lyrics_features": 3}
    missing = account[account["status"] == "missing"]
    assert missing[["track_id", "features", "reason"]].values.tolist() == [["b", "musicnn", "too_short"]]
    assert set(account.loc[account["status"] == "computed", "reason"]) == {""}
    with pytest.raises(ValueError, match=r"musicnn: rejections of tracks that are not kept \(\['zz'\]\)"):
        accounting.feature_account(["a"], {"musicnn": StageReport(rejections=[
            Rejected("too_short", "x", track_id="zz")])})
