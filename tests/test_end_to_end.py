"""The ``smoke`` profile, run through papermill once (fixture ``smoke_run``), end to end.

The run is this module's fixture: pytest-xdist keeps a module's tests on one worker
(tests/conftest.py), so it is built once.
"""

import json

import nbformat
import pandas as pd
import pytest

from mer_utils import accounting
from mer_utils import run as runner
from mer_utils.catalogue import (
    AUDIO_BASELINE, LATE_FUSION, LYRICS_BASELINE, PRETRAINED_AUDIO, PRETRAINED_LYRICS, STACKING,
)
from mer_utils.paths import RunLayout

pytestmark = pytest.mark.slow
MODELS = ("audio_cnn", "audio_rnn", "audio_cnn_rnn", "lyrics_cnn", "lyrics_rnn", "fused")
#: Planted defects that notebook 01 cannot see, and the stage that rejects them.
LATE_DEFECT_STAGES = {"silent_audio": "02_mels", "no_content_words": "03_lyrics"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """Run the ``smoke`` profile end to end; return the run folder. Every test below reads it."""
    runs_dir = tmp_path_factory.mktemp("papermill_runs")
    return runner.execute(runner.load_profile("smoke"), run_id="test", runs_dir=runs_dir, log=lambda *_: None)


def test_every_notebook_executed_and_recorded(smoke_run):
    record = json.loads((smoke_run / "run.json").read_text())
    assert record["status"] == "ok"
    outputs = [entry["output"] for entry in record["notebooks"]]
    assert outputs == [
        "01_data.ipynb", "02_mels.ipynb", "03_lyrics.ipynb",
        "04_audio_model-cnn.ipynb", "04_audio_model-rnn.ipynb", "04_audio_model-cnn_rnn.ipynb",
        "05_lyrics_model-cnn.ipynb", "05_lyrics_model-rnn.ipynb",
        "06_fused_model.ipynb", "07_results.ipynb", "08_beyond_the_paper.ipynb", "09_try_a_song.ipynb",
    ]
    for name in outputs:
        nb = nbformat.read(smoke_run / name, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name} stored an error output"
        assert any(c.outputs for c in nb.cells if c.cell_type == "code"), f"{name} shows nothing"
    tried = nbformat.read(smoke_run / "09_try_a_song.ipynb", as_version=4)
    shown = json.dumps([c.outputs for c in tried.cells if c.cell_type == "code"])
    assert "pretrained_late_fusion" in shown and "tag_" in shown, "09 asks notebook 08's rows too, and says why"


def test_every_track_is_accounted_for(smoke_run):
    """The ledger against the generated corpus's own truth.csv (row i describes row i of metadata.csv).

    Every generated track is in the ledger exactly once; every planted defect is rejected
    with its planned reason by the stage that can see it; every other track is kept with
    its true label, or balanced out.
    """
    from mer_utils.demo.corpus import DEFECTS, LATE_DEFECTS, demo_corpus_dir
    from mer_utils.filtering import ledger_ids

    params = json.loads((smoke_run / "run.json").read_text())["parameters"]
    folder = demo_corpus_dir(n_tracks=params["demo_n_tracks"], seed=params["seed"])
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    assert len(truth) == params["demo_n_tracks"]
    assert set(truth["planted_defect"]) - {""} == {reason for reason, _ in DEFECTS}, "one of each defect"
    assert set(LATE_DEFECT_STAGES) == set(LATE_DEFECTS)
    truth.index = ledger_ids(truth["track_id"].tolist())  # a repeated id is recorded as "<id>#2"
    ledger = accounting.read_ledger(RunLayout(smoke_run).tracks_csv).set_index("track_id")
    assert sorted(ledger.index) == sorted(truth.index), "each generated track exactly once"
    ledger = ledger.loc[truth.index]

    planted = truth["planted_defect"] != ""
    defects = ledger[planted].assign(planned=truth["planted_defect"], planned_stage=truth["planted_defect"].map(
        lambda reason: LATE_DEFECT_STAGES.get(reason, "01_data")))
    assert (defects["status"] == "rejected").all(), defects.loc[defects["status"] != "rejected", "planned"].to_dict()
    wrong = defects[(defects["reason"] != defects["planned"]) | (defects["stage"] != defects["planned_stage"])]
    assert wrong.empty, wrong[["reason", "stage", "planned", "planned_stage", "detail"]].to_string()

    clean = ledger[~planted]
    unexpected = clean[(clean["status"] == "rejected") & (clean["reason"] != "balanced_out")]
    assert unexpected.empty, unexpected[["reason", "stage", "detail"]].to_string()
    mislabelled = clean["label"] != truth.loc[~planted, "true_label"]
    assert not mislabelled.any(), f"labels differ from truth.csv: {clean.loc[mislabelled, 'label'].to_dict()}"
    assert set(clean.loc[clean["status"] == "kept", "label"]) == {"positive", "negative"}


def test_splits_cover_only_kept_tracks(smoke_run):
    from mer_utils.splits import load_splits

    layout = RunLayout(smoke_run)
    kept = set(accounting.kept_ids(accounting.read_ledger(layout.tracks_csv)))
    splits = load_splits(layout)
    assert len(splits) >= 2
    for split in splits:
        assert set(split["train"]) | set(split["val"]) <= kept
        assert not set(split["train"]) & set(split["val"])


def test_notebook_08_accounts_for_every_kept_tracks_features(smoke_run):
    """Its features remove no track; each kept track has its features or a reason, per source."""
    layout = RunLayout(smoke_run)
    kept = set(accounting.kept_ids(accounting.read_ledger(layout.tracks_csv)))
    account = pd.read_csv(layout.feature_account_csv, dtype=str, keep_default_na=False)
    assert set(account["features"]) == {"musicnn", "lyrics_features"}
    for source, rows in account.groupby("features"):
        assert sorted(rows["track_id"]) == sorted(kept), source
    missing = account[account["status"] == "missing"]
    assert missing["reason"].isin(list(accounting.REASONS)).all() and (missing["detail"] != "").all()


def test_notebook_08_fine_tunes_musicnn_when_the_profile_asks(smoke_run):
    from mer_utils.catalogue import FINETUNED_AUDIO
    from mer_utils.splits import load_splits

    layout = RunLayout(smoke_run)
    splits = load_splits(layout)
    for index, split in enumerate(splits):
        predictions = pd.read_csv(layout.model_dir(FINETUNED_AUDIO, index) / "predictions.csv", dtype={"track_id": str})
        assert sorted(predictions["track_id"]) == sorted(split["val"]), "scored on the outer fold"
        assert predictions["prob_positive"].between(0, 1).all()
    assert FINETUNED_AUDIO in set(pd.read_csv(layout.results_dir / "table1_extended.csv")["name"])


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
    for name in ("table1.md", "paired_tests.csv", "summary.json"):
        assert (layout.results_dir / name).stat().st_size > 0, name
    record = json.loads((layout.results_dir / "summary.json").read_text())
    assert set(record["best_per_modality"]) == {"audio", "lyrics", "both"}
    assert record["models"][LYRICS_BASELINE]["runs"] >= 2
    figures = {p.name for p in layout.figures_dir.glob("*.png")}
    assert {"figure2.png", "07_accuracy_summary.png", "07_confusion_matrices.png", "07_roc_curves.png"} <= figures
    assert all((layout.figures_dir / f).stat().st_size > 1000 for f in figures)


def test_notebook_08_extends_table_1_in_the_smoke_run(smoke_run):
    layout = RunLayout(smoke_run)
    table = pd.read_csv(layout.results_dir / "table1_extended.csv")
    expected = {"fused", PRETRAINED_AUDIO, PRETRAINED_LYRICS, LATE_FUSION, STACKING, "lyrics_cnn_nested"}
    assert expected <= set(table["name"])
    assert set(table.loc[table["name"] == "fused", "protocol"]) == {"paper"}
    assert set(table.loc[table["name"] == "lyrics_cnn_nested", "protocol"]) == {"never-tuned"}
    paired = pd.read_csv(layout.results_dir / "paired_tests_extended.csv")
    assert ((paired["model_a"] == "lyrics_cnn_nested") & (paired["model_b"] == "lyrics_cnn")).any()
    assert (layout.figures_dir / "08_beyond_the_paper.png").stat().st_size > 1000
    assert len(pd.read_csv(layout.results_dir / "repeated_folds.csv")) >= 2
    verdicts = pd.read_csv(layout.results_dir / "recommended_vs_baselines.csv")
    assert set(zip(verdicts["model"], verdicts["baseline"])) == {
        (PRETRAINED_AUDIO, AUDIO_BASELINE), (PRETRAINED_LYRICS, LYRICS_BASELINE), (LATE_FUSION, AUDIO_BASELINE),
        (LATE_FUSION, LYRICS_BASELINE)}
    written = (layout.results_dir / "recommended_vs_baselines.md").read_text()
    assert written.count("- **") == 4
    assert written.count("(within the noise)") == verdicts["verdict"].str.endswith("within the noise").sum()


def test_notebook_09_tries_a_song_in_the_smoke_run(smoke_run):
    """The papermill run executes notebook 09 on a song of its corpus: the table and both explanations."""
    nb = nbformat.read(smoke_run / "09_try_a_song.ipynb", as_version=4)
    shown = "".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                    for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)
    assert "the song: track" in shown and "ensemble" in shown and "supported most by the music at" in shown
    assert all((smoke_run / "figures" / f"09_{kind}_explanation.png").is_file() for kind in ("audio", "lyrics"))


def test_data_stages_rerun_with_the_same_seed_give_identical_files(smoke_run, tmp_path):
    again = runner.execute(runner.load_profile("smoke"), run_id="again", runs_dir=tmp_path / "runs",
                           only={"01", "02", "03"}, log=lambda *_: None)
    first, second = RunLayout(smoke_run), RunLayout(again)
    for name in ("tracks_csv", "splits_json", "tokens_json"):
        old, new = getattr(first, name).read_bytes(), getattr(second, name).read_bytes()
        assert old.replace(bytes(smoke_run), b"<run>") == new.replace(bytes(again), b"<run>"), name
