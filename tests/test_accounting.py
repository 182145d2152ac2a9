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
