"""The ``smoke`` profile, run through papermill once (fixture ``smoke_run``), end to end."""

import json

import nbformat
import pandas as pd
import pytest

from mer_utils import accounting
from mer_utils.paths import RunLayout

pytestmark = pytest.mark.slow
MODELS = ("audio_cnn", "audio_rnn", "audio_cnn_rnn", "lyrics_cnn", "lyrics_rnn", "fused")


def test_every_notebook_executed_and_recorded(smoke_run):
    record = json.loads((smoke_run / "run.json").read_text())
    assert record["status"] == "ok"
    outputs = [entry["output"] for entry in record["notebooks"]]
    assert outputs == [
        "01_data.ipynb", "02_mels.ipynb", "03_lyrics.ipynb",
        "04_audio_model-cnn.ipynb", "04_audio_model-rnn.ipynb", "04_audio_model-cnn_rnn.ipynb",
        "05_lyrics_model-cnn.ipynb", "05_lyrics_model-rnn.ipynb",
        "06_fused_model.ipynb", "07_results.ipynb",
    ]
    for name in outputs:
        nb = nbformat.read(smoke_run / name, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name} stored an error output"
        assert any(c.outputs for c in nb.cells if c.cell_type == "code"), f"{name} shows nothing"


def test_every_track_is_accounted_for(smoke_run):
    layout = RunLayout(smoke_run)
    ledger = accounting.read_ledger(layout.tracks_csv)
    manifest_size = ledger["track_id"].nunique()
    assert len(ledger) == manifest_size
    counts = accounting.reason_counts(ledger)
    assert counts["tracks"].sum() == len(ledger)
    rejected_stages = set(ledger.loc[ledger.status == "rejected", "stage"])
    assert {"01_data", "02_mels", "03_lyrics"} <= rejected_stages, "the demo corpus plants defects for each stage"
    kept = ledger[ledger.status == "kept"]
    assert set(kept.label) == {"positive", "negative"}


def test_splits_cover_only_kept_tracks(smoke_run):
    from mer_utils.splits import load_splits

    layout = RunLayout(smoke_run)
    kept = set(accounting.kept_ids(accounting.read_ledger(layout.tracks_csv)))
    splits = load_splits(layout)
    assert len(splits) >= 2
    for split in splits:
        assert set(split["train"]) | set(split["val"]) <= kept
        assert not set(split["train"]) & set(split["val"])


@pytest.mark.parametrize("model", MODELS)
def test_each_model_wrote_its_outputs(smoke_run, model):
    layout = RunLayout(smoke_run)
    split_dirs = sorted((layout.models_dir / model).glob("split_*"))
    assert len(split_dirs) >= 2
    for folder in split_dirs:
        history = pd.read_csv(folder / "history.csv")
        assert {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.columns)
        predictions = pd.read_csv(folder / "predictions.csv")
        assert predictions["prob_positive"].between(0, 1).all()
        metrics = json.loads((folder / "metrics.json").read_text())
        assert 0 <= metrics["accuracy"] <= 1
        assert (folder / "model.keras").stat().st_size > 0
        assert json.loads((folder / "provenance.json").read_text())


def test_results_table_and_figures(smoke_run):
    layout = RunLayout(smoke_run)
    table = pd.read_csv(layout.results_dir / "table1.csv")
    assert len(table) >= len(MODELS)
    figures = {p.name for p in layout.figures_dir.glob("*.png")}
    assert "figure2.png" in figures
    assert all((layout.figures_dir / f).stat().st_size > 1000 for f in figures)
