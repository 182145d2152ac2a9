"""Predicting new songs with a trained run: the stages' own preprocessing, split averaging, the command line."""

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mer_utils import catalogue, explain, predict
from mer_utils import run as runner
from mer_utils.accounting import Rejected, read_ledger
from mer_utils.catalogue import LATE_FUSION, PRETRAINED_AUDIO, PRETRAINED_LYRICS
from mer_utils.lyrics import load_tokens
from mer_utils.mels import MelStore
from mer_utils.outputs import read_predictions
from messy_corpus import write_corrupt_mp3
from tiny_run import N_SPLITS, PARAMS


@pytest.fixture(scope="module")
def ledger(run):
    return read_ledger(run.tracks_csv).set_index("track_id")


def cli(capsys, *args):
    """Run the command line in this process: ``(exit status, stdout, stderr)``."""
    status = predict.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def only_models(run, tmp_path, names):
    """A copy of the run folder holding only the models ``names`` (and run.json)."""
    copy = tmp_path / "subset"
    copy.mkdir()
    shutil.copy(run.run_dir / "run.json", copy / "run.json")
    for name in names:
        shutil.copytree(run.models_dir / name, copy / "models" / name)
    return copy


def test_run_parameters_come_from_run_json_then_defaults(tmp_path):
    record = {"parameters": {"n_mels": 64, "clip_seconds": 30, "korean_tagger": "komoran"},
              "notebooks": [{"notebook": "02_mels.ipynb", "parameters": {"n_mels": 96, "run_dir": "x"}},
                            {"notebook": "08_beyond_the_paper.ipynb", "parameters": {"musicnn_seconds": 15}}]}
    (tmp_path / "run.json").write_text(json.dumps(record))
    params = predict.run_parameters(tmp_path)
    assert params == {"min_duration_s": 60.0, "min_lyrics_words": 30, "sample_rate": 22050, "clip_seconds": 30.0, "n_mels": 96, "n_frames": 1024, "n_fft": 2048,
                      "korean_tagger": "komoran", "musicnn_model": "MSD_musicnn", "musicnn_seconds": 15.0}
    assert isinstance(params["clip_seconds"], float)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(ValueError, match="run.json: not a readable run record"):
        predict.run_parameters(tmp_path)


def test_a_run_without_run_json_takes_notebook_02s_parameters_from_its_features(run, tmp_path, caplog):
    """Notebooks run by hand (JupyterLab) write no run.json; the mel cache's params.json says how 02 ran."""
    copy = tmp_path / "by_hand"
    shutil.copytree(run.data_dir, copy / "data")
    with caplog.at_level("INFO", logger="mer_utils.predict"):
        params = predict.run_parameters(copy)
    assert {name: params[name] for name in PARAMS} == PARAMS
    assert params["korean_tagger"] == "okt" and params["min_duration_s"] == 60.0, "the others: the defaults"
    assert "has no run.json (notebooks run by hand): notebook 02's come from its features" in caplog.text
    assert "WARNING" not in caplog.text


def test_a_rejection_shows_in_a_notebook_as_its_reason_and_sentence():
    rejected = Rejected("too_short", "audio file x.wav lasts 50.0 s, under the minimum of 60 s")
    assert rejected._render_traceback_() == [
        "Rejected: too_short: audio file x.wav lasts 50.0 s, under the minimum of 60 s"]


def test_the_defaults_are_the_notebooks(tmp_path):
    """A run.json without a notebook's parameter means the notebook ran with its own default."""
    for notebook, defaults in predict.PREPROCESSING.items():
        declared = runner.declared_parameters(runner.NOTEBOOKS_DIR / f"{notebook}.ipynb")
        assert {name: json.loads(declared[name]["default"].replace("'", '"')) for name in defaults} == defaults


def test_a_song_is_prepared_exactly_as_the_stages_prepared_it(run, predictor, ledger):
    assert predictor.params == {**PARAMS, "korean_tagger": "okt", "musicnn_model": "MSD_musicnn",
                                "musicnn_seconds": 30.0, "min_duration_s": PARAMS["clip_seconds"],
                                "min_lyrics_words": 30}
    store, tokens = MelStore.open(run), load_tokens(run)
    for track_id in ledger.index[:3]:
        song = predictor.prepare(ledger.loc[track_id, "audio_path"], ledger.loc[track_id, "lyrics_path"])
        np.testing.assert_array_equal(song.mel, store.get(track_id).astype(np.float32))
        assert song.words == tokens[track_id]
        assert song.clip.shape == (int(PARAMS["sample_rate"] * PARAMS["clip_seconds"]),)


def test_each_split_model_reproduces_its_validation_predictions(run, predictor, ledger):
    """Scoring a validation track anew gives the probability training saved for it, split by split."""
    for name, trained in predictor.models.items():
        assert len(trained.splits) == N_SPLITS[name]
        for index, model in enumerate(trained.splits):
            saved = read_predictions(run.model_dir(name, index) / "predictions.csv").head(3)
            for track_id, prob in zip(saved["track_id"], saved["prob_positive"]):
                song = predictor.prepare(ledger.loc[track_id, "audio_path"], ledger.loc[track_id, "lyrics_path"])
                probs = explain.probabilities(model, trained.split_inputs(song, index))[0]
                assert probs[1] == pytest.approx(prob, abs=1e-5), (name, index, track_id)


def test_the_table_averages_splits_then_models(predictor, ledger):
    track = ledger.iloc[5]
    song = predictor.prepare(track["audio_path"], track["lyrics_path"])
    table = predictor.predict(song)
    assert list(table["model"]) == ["audio_cnn", "lyrics_cnn", "fused", predict.ENSEMBLE]
    assert list(table["modality"]) == ["audio", "lyrics", "both", "audio+lyrics+both"]
    assert list(table["n_averaged"]) == [2, 2, 1, 3]
    assert (table["song"] == song.name).all() and table.attrs["skipped"] == {}
    np.testing.assert_allclose(table["prob_negative"] + table["prob_positive"], 1.0, atol=1e-6)
    audio = predictor.models["audio_cnn"]
    split_probs = [explain.probabilities(m, audio.split_inputs(song, i))[0, 1]
                   for i, m in enumerate(audio.splits)]
    assert table.loc[0, "prob_positive"] == pytest.approx(np.mean(split_probs))
    assert table.loc[3, "prob_positive"] == pytest.approx(table["prob_positive"][:3].mean())
    assert table.loc[3, "label"] == ("positive" if table.loc[3, "prob_positive"] > 0.5 else "negative")
    assert table.loc[3, "label"] == track["label"]  # clear cues, all three models right on the training corpus


def test_models_reading_a_missing_input_are_left_out_or_refused(run, predictor, ledger):
    song = predictor.prepare(ledger["audio_path"].iloc[0])
    table = predictor.predict(song)
    assert list(table["model"]) == ["audio_cnn", predict.ENSEMBLE]
    assert set(table.attrs["skipped"]) == {"lyrics_cnn", "fused"}
    assert table.attrs["skipped"] == {"lyrics_cnn": "lyrics", "fused": "lyrics"}
    with pytest.raises(predict.MissingInputError, match=r"^lyrics_cnn reads lyrics, and .* has none: .*--lyrics"):
        predict.predict_song(run.run_dir, ledger["audio_path"].iloc[0], models=["audio_cnn", "lyrics_cnn"])
    with pytest.raises(ValueError, match="not trained"):
        predict.Predictor(run.run_dir, models=["audio_rnn"])


@pytest.fixture(scope="module")
def pretrained_predictor(pretrained_run):
    return predict.Predictor(pretrained_run.run_dir)


def test_notebook_08_rows_reproduce_their_validation_predictions(pretrained_run, pretrained_predictor, ledger):
    """A new song's pretrained features, through each split's saved fit, give the probability notebook 08 scored."""
    assert list(pretrained_predictor.models)[3:] == [PRETRAINED_AUDIO, PRETRAINED_LYRICS, LATE_FUSION]
    assert pretrained_predictor.deep_models("audio") == ["audio_cnn"]
    for name, key in catalogue.PRETRAINED_ROWS.items():
        model = pretrained_predictor.models[name]
        for index, split in enumerate(model.splits):
            saved = read_predictions(pretrained_run.model_dir(name, index) / "predictions.csv").head(3)
            for track_id, prob in zip(saved["track_id"], saved["prob_positive"]):
                song = pretrained_predictor.prepare(ledger.loc[track_id, "audio_path"],
                                                    ledger.loc[track_id, "lyrics_path"])
                assert split.prob_positive(song.features[key])[0] == pytest.approx(prob, abs=1e-5), (name, track_id)


def test_late_fusion_is_the_mean_of_the_two_pretrained_rows(pretrained_predictor, ledger):
    track = ledger.iloc[20]
    song = pretrained_predictor.prepare(track["audio_path"], track["lyrics_path"])
    table = pretrained_predictor.predict(song).set_index("model")
    assert list(table.index) == ["audio_cnn", "lyrics_cnn", "fused", PRETRAINED_AUDIO, PRETRAINED_LYRICS,
                                 LATE_FUSION, predict.ENSEMBLE]
    assert table.loc[LATE_FUSION, "prob_positive"] == pytest.approx(
        table.loc[[PRETRAINED_AUDIO, PRETRAINED_LYRICS], "prob_positive"].mean())
    assert table.loc[LATE_FUSION, "modality"] == "both" and table.loc[LATE_FUSION, "n_averaged"] == 2
    assert table.loc[LATE_FUSION, "label"] == track["label"]  # clear cues
    assert table.loc[predict.ENSEMBLE, "n_averaged"] == 5, "the late fusion is not counted on top of its two rows"
    assert table.loc[predict.ENSEMBLE, "prob_positive"] == pytest.approx(
        table["prob_positive"].drop([LATE_FUSION, predict.ENSEMBLE]).mean())
    audio_only = pretrained_predictor.predict(pretrained_predictor.prepare(track["audio_path"]))
    assert audio_only.attrs["skipped"] == {"lyrics_cnn": "lyrics", "fused": "lyrics", PRETRAINED_LYRICS: "lyrics",
                                           LATE_FUSION: "lyrics"}


def test_late_fusion_needs_both_rows_and_answers_alone(pretrained_run, ledger, tmp_path):
    track = ledger.iloc[20]
    alone = predict.predict_song(pretrained_run.run_dir, track["audio_path"], track["lyrics_path"],
                                 models=[LATE_FUSION])
    assert list(alone["model"]) == [LATE_FUSION, predict.ENSEMBLE]
    assert alone["n_averaged"].iloc[-1] == 2, "the ensemble counts the late fusion as its two rows"
    with_audio = predict.predict_song(pretrained_run.run_dir, track["audio_path"], track["lyrics_path"],
                                      models=[LATE_FUSION, PRETRAINED_AUDIO]).set_index("model")
    assert with_audio.loc[predict.ENSEMBLE, "prob_positive"] == pytest.approx(
        with_audio.loc[LATE_FUSION, "prob_positive"]), "the audio row chosen beside its fusion still counts once"
    assert list(alone.columns[-3:]) == ["prob_negative", "prob_positive", "label"]
    copy = tmp_path / "audio_features_only"
    shutil.copytree(pretrained_run.run_dir, copy)
    shutil.rmtree(copy / "models" / PRETRAINED_LYRICS)
    trained = predict.trained_models(copy)
    assert PRETRAINED_AUDIO in trained and LATE_FUSION not in trained, "a fusion without its lyrics half is left out"


def test_pretrained_rows_without_saved_fits_are_left_out_saying_how_to_save_them(pretrained_run, tmp_path, caplog):
    copy = tmp_path / "older_run"
    shutil.copytree(pretrained_run.run_dir, copy)
    for fit in (copy / "models" / PRETRAINED_AUDIO).glob(f"split_*/{predict.LINEAR_MODEL_FILE}"):
        fit.unlink()  # as a notebook 08 older than the saved fits left it
    trained = predict.trained_models(copy)
    assert PRETRAINED_AUDIO not in trained and LATE_FUSION not in trained and PRETRAINED_LYRICS in trained
    assert f"{PRETRAINED_AUDIO} is left out: it was scored by a notebook 08 that did not save its fits" in caplog.text
    profile = json.loads((copy / "run.json").read_text())["profile"]
    assert f"python -m mer_utils.run --profile {profile} --run-id older_run --only 08" in caplog.text


def test_models_of_an_unfinished_notebook_or_with_a_missing_fit_are_left_out_saying_why(run, tmp_path, caplog):
    copy = tmp_path / "unfinished"
    shutil.copytree(run.run_dir, copy)
    record = json.loads((copy / "run.json").read_text())
    record["notebooks"] += [
        {"notebook": "04_audio_model.ipynb", "output": "04_audio_model-cnn.ipynb",
         "parameters": {"audio_models": ["cnn"]}, "status": "interrupted"},
        {"notebook": "04_audio_model.ipynb", "output": "04_audio_model-rnn.ipynb",
         "parameters": {"audio_models": ["rnn"]}, "status": "ok"},
        {"notebook": "05_lyrics_model.ipynb", "output": "05_lyrics_model-rnn.ipynb",
         "parameters": {"lyrics_models": ["rnn"]}, "status": "failed"},  # not this run's lyrics_cnn
        {"notebook": "06_fused_model.ipynb", "output": "06_fused_model.ipynb", "parameters": {}, "status": "stale"}]
    (copy / "run.json").write_text(json.dumps(record))
    (copy / "models" / "lyrics_cnn" / "split_1" / predict.MODEL_FILE).unlink()
    with pytest.raises(ValueError, match="holds no usable trained model .* or again, as said above"):
        predict.trained_models(copy)
    assert "audio_cnn is left out: notebook 04_audio_model-cnn.ipynb is interrupted in this run; to ask it about " \
           "new songs, run notebook 04 again (python -m mer_utils.run --profile tiny --run-id unfinished --only 04)" \
        in caplog.text
    assert "fused is left out: notebook 06_fused_model.ipynb is stale in this run" in caplog.text
    assert f"lyrics_cnn is left out: split_1 of its 2 splits lack {predict.MODEL_FILE}" in caplog.text
    record["notebooks"] = record["notebooks"][:-1]
    (copy / "run.json").write_text(json.dumps(record))
    assert list(predict.trained_models(copy)) == ["fused"], "the notebooks that finished still answer"
    (copy / "run.json").write_text("[]")
    with pytest.raises(ValueError, match=r"run.json: not a run record \(a JSON object\), but a JSON list"):
        predict.trained_models(copy)


def test_a_song_the_runs_notebook_01_would_reject_is_refused_with_its_reason(predictor, ledger, tmp_path):
    from tiny_run import write_song

    audio, text = write_song(tmp_path, "short", "positive", np.random.default_rng(0),
                             seconds=PARAMS["clip_seconds"] - 0.2)  # 02 would zero-pad it; 01 rejects it
    with pytest.raises(Rejected) as caught:
        predictor.prepare(audio, text)
    assert caught.value.reason == "too_short" and f"under the minimum of {PARAMS['clip_seconds']:g} s" in \
        caught.value.detail
    few = tmp_path / "few.txt"
    few.write_text("la la la ooh yeah " * 5, encoding="utf-8")
    with pytest.raises(Rejected) as caught:
        predictor.prepare(ledger["audio_path"].iloc[0], few)
    assert caught.value.reason == "too_few_words" and "25 words, under the minimum of 30" in caught.value.detail


def test_why_names_the_tags_and_features_of_the_pretrained_rows(pretrained_predictor, ledger):
    track = ledger.iloc[21]
    song = pretrained_predictor.prepare(track["audio_path"], track["lyrics_path"])
    lines = pretrained_predictor.why(song, top=2)
    rows = {line.split(":", 1)[0]: line for line in lines}
    assert {PRETRAINED_AUDIO, PRETRAINED_LYRICS} <= set(rows)
    tags = pretrained_predictor.explain_features(song, PRETRAINED_AUDIO, top=2, prefix="tag_")
    for tag in tags["feature"]:
        assert f" {tag.removeprefix('tag_')} = " in rows[PRETRAINED_AUDIO], "musicnn's tags, by name"
    assert "the musicnn tags that weighed most (above 0 for positive, below 0 against it)" in rows[PRETRAINED_AUDIO]


def test_pretrained_rows_say_which_features_pushed_them(pretrained_predictor, ledger):
    track = ledger.iloc[21]
    song = pretrained_predictor.prepare(track["audio_path"], track["lyrics_path"])
    why = pretrained_predictor.explain_features(song, PRETRAINED_AUDIO, top=5)
    assert list(why.columns) == ["feature", "value", "contribution", "towards"] and len(why) == 5
    assert set(why["towards"]) == {"positive"}, "two classes: pushes towards positive, below 0 towards negative"
    assert list(np.abs(why["contribution"])) == sorted(np.abs(why["contribution"]), reverse=True)
    assert set(why["feature"]) <= set(song.features["musicnn"].columns)
    assert why.set_index("feature")["value"].to_dict() == pytest.approx(
        song.features["musicnn"].iloc[0][why["feature"]].to_dict())
    tags = pretrained_predictor.explain_features(song, PRETRAINED_AUDIO, top=3, prefix="tag_")
    assert len(tags) == 3 and tags["feature"].str.startswith("tag_").all()
    with pytest.raises(ValueError, match="explain it with explain_features"):
        pretrained_predictor.explain_audio(song, PRETRAINED_AUDIO)
    with pytest.raises(ValueError, match="does not read pretrained features"):
        pretrained_predictor.explain_features(song, "audio_cnn")


def test_the_late_fusion_sends_to_its_two_rows_for_an_explanation(pretrained_predictor, ledger):
    """Nothing fitted of its own: both explainers name its parts, instead of sending the reader to each other."""
    track = ledger.iloc[21]
    song = pretrained_predictor.prepare(track["audio_path"], track["lyrics_path"])
    for explainer in (pretrained_predictor.explain_features, pretrained_predictor.explain_audio,
                      pretrained_predictor.explain_lyrics):
        with pytest.raises(ValueError, match="explain each of them with explain_features") as caught:
            explainer(song, LATE_FUSION)
        assert PRETRAINED_AUDIO in str(caught.value) and PRETRAINED_LYRICS in str(caught.value), explainer.__name__


def test_cli_names_the_missing_package_of_the_pretrained_rows(pretrained_run, ledger, capsys, monkeypatch):
    from mer_utils.pretrained import musicnn, song_features

    def unavailable(self, name, audio_path):
        raise musicnn.MusicnnUnavailable(f"the musicnn weights are not installed: `{musicnn.INSTALL_COMMAND}`")

    monkeypatch.setattr(song_features.SongFeatures, "musicnn", unavailable)
    status, out, err = cli(capsys, ledger["audio_path"].iloc[0], "--run", pretrained_run.run_dir)
    assert status == predict.EXIT_UNUSABLE and out == ""
    assert err.strip() == f"error: the musicnn weights are not installed: `{musicnn.INSTALL_COMMAND}`"


def test_class_names_are_the_runs(run, ledger, tmp_path):
    copy = only_models(run, tmp_path, ["lyrics_cnn"])
    data = json.loads(run.splits_json.read_text())
    (copy / "data").mkdir()
    (copy / "data" / "splits.json").write_text(json.dumps({**data, "classes": ["sad", "happy"]}))
    table = predict.predict_song(copy, None, ledger["lyrics_path"].iloc[0])
    assert list(table.columns[-3:]) == ["prob_sad", "prob_happy", "label"]
    assert set(table["label"]) <= {"sad", "happy"}


def test_unusable_songs_are_refused_with_the_ledgers_reason(predictor, tmp_path):
    corrupt = write_corrupt_mp3(tmp_path / "corrupt.mp3")
    with pytest.raises(Rejected) as caught:
        predictor.prepare(corrupt)
    assert caught.value.reason == "unreadable_audio" and str(corrupt) in caught.value.detail
    with pytest.raises(Rejected) as caught:
        predictor.prepare(lyrics_path=tmp_path / "none.txt")
    assert caught.value.reason == "missing_lyrics"
    (tmp_path / "markers.txt").write_text("[Chorus]\n...\n(x2)\n", encoding="utf-8")
    with pytest.raises(Rejected) as caught:
        predictor.prepare(lyrics_path=tmp_path / "markers.txt")
    assert caught.value.reason == "too_few_words", "notebook 01's rule comes first, as in the stages"


def test_the_demo_song_is_a_held_out_kept_track_with_lyrics(run):
    row = predict.demo_song(run.run_dir, seed=3)
    val = json.loads(run.splits_json.read_text())["splits"][0]["val"]
    assert row["track_id"] in val and row["status"] == "kept" and row["lyrics_path"]
    assert predict.demo_song(run.run_dir, seed=3)["track_id"] == row["track_id"]
    song = predict.song_to_try(run.run_dir, seed=3)
    assert str(song["audio_path"]) == row["audio_path"] and str(song["lyrics_path"]) == row["lyrics_path"]
    assert f"track {row['track_id']} " in song["about"] and "its audio and its English lyrics" in song["about"]
    mine = predict.song_to_try(run.run_dir, "/music/mine.mp3")
    assert mine["lyrics_path"] is None and "mine.mp3, without lyrics" in mine["about"]


def test_a_demo_track_without_audio_and_with_inline_lyrics_is_read_as_such(predictor, ledger, monkeypatch):
    """A lyrics-only run's ledger row: no audio (not the current folder), its inline lyrics, their language."""
    track = ledger.iloc[0]
    text = open(track["lyrics_path"], encoding="utf-8").read()
    row = pd.Series({"track_id": "t1", "audio_path": "", "lyrics_path": "", "lyrics_text": text, "language": "en",
                     "title": "", "artist": "", "label": "positive"})
    monkeypatch.setattr(predict, "demo_song", lambda run_dir, seed=0: row)
    choice = predict.song_to_try("/nowhere")
    assert choice["audio_path"] is None and choice["lyrics_path"] is None and choice["lyrics_text"] == text
    assert choice["about"].endswith("ledger: no audio and its English lyrics (inline in the ledger)")
    song = predictor.prepare(choice["audio_path"], choice["lyrics_path"], lyrics_text=choice["lyrics_text"],
                             language=choice["language"], name=choice["name"])
    from_file = predictor.prepare("", track["lyrics_path"])
    assert song.name == "t1" and song.mel is None and from_file.mel is None
    assert song.words == from_file.words
    table, expected = predictor.predict(song), predictor.predict(from_file)
    assert list(table["model"]) == ["lyrics_cnn", predict.ENSEMBLE]
    np.testing.assert_allclose(table["prob_positive"], expected["prob_positive"])
    monkeypatch.setattr(predict, "demo_song", lambda run_dir, seed=0: row.replace({"en": "kor"}))
    assert "its Korean lyrics (inline" in predict.song_to_try("/nowhere")["about"], "the row's language"
    no_lyrics = row.replace({text: ""})
    monkeypatch.setattr(predict, "demo_song", lambda run_dir, seed=0: no_lyrics)
    assert predict.song_to_try("/nowhere")["about"].endswith("no audio and no lyrics")


def test_lyrics_given_without_a_song_are_a_song_of_lyrics_only(monkeypatch):
    def no_demo(run_dir, seed=0):
        raise AssertionError("the reader's lyrics were dropped for the demo song")

    monkeypatch.setattr(predict, "demo_song", no_demo)
    choice = predict.song_to_try("/nowhere", "", "/tmp/mine.txt")
    assert choice["audio_path"] is None and choice["lyrics_path"] == predict.Path("/tmp/mine.txt")
    assert choice["about"] == "your lyrics mine.txt, without audio"


def test_inline_lyrics_reach_the_pretrained_lyrics_row_as_their_file_does(pretrained_predictor, ledger):
    path = ledger["lyrics_path"].iloc[0]
    inline = pretrained_predictor.prepare(lyrics_text=open(path, encoding="utf-8").read(), name="inline")
    from_file = pretrained_predictor.prepare(lyrics_path=path, name="from_file")
    np.testing.assert_allclose(inline.features["lyrics_features"].to_numpy(),
                               from_file.features["lyrics_features"].to_numpy())
    table, expected = pretrained_predictor.predict(inline), pretrained_predictor.predict(from_file)
    assert PRETRAINED_LYRICS not in table.attrs["skipped"]
    np.testing.assert_allclose(table["prob_positive"], expected["prob_positive"])


# --- the command line --------------------------------------------------------------------

def test_cli_prints_a_table_csv_or_json(run, ledger, capsys):
    track = ledger.iloc[0]
    args = ["--run", run.run_dir, track["audio_path"], "--lyrics", track["lyrics_path"]]
    status, out, err = cli(capsys, *args)
    assert status == 0 and "ensemble" in out and "prob_positive" in out, err
    status, out, _ = cli(capsys, *args, "--format", "json")
    records = json.loads(out)
    assert status == 0 and [r["model"] for r in records] == ["audio_cnn", "lyrics_cnn", "fused", "ensemble"]
    assert records[-1]["label"] in ("negative", "positive")
    status, out, _ = cli(capsys, *args, "--format", "csv", "--models", "lyrics_cnn")
    table = pd.read_csv(io.StringIO(out))
    assert status == 0 and list(table["model"]) == ["lyrics_cnn", "ensemble"]


def test_cli_says_why(run, ledger, capsys):
    track = ledger.iloc[0]
    status, out, err = cli(capsys, "--run", run.run_dir, track["audio_path"], "--lyrics", track["lyrics_path"],
                           "--why")
    assert status == 0, err
    table, why = out.split(f"\nwhy, {track['audio_path'].rsplit('/', 1)[-1]}:\n")
    lines = why.splitlines()
    assert lines[0].startswith("  audio_cnn: ") and "supported most by the music at" in lines[0]
    assert lines[1].startswith("  lyrics_cnn: ") and "supported most by the words" in lines[1]
    assert len(lines) == 2 and "ensemble" in table
    status, out, err = cli(capsys, "--run", run.run_dir, track["audio_path"], "--why", "--format", "csv",
                           "--models", "audio_cnn")
    assert status == 0 and "why" not in out and "  audio_cnn: " in err, "machine formats keep stdout to the table"


def test_the_command_prints_the_answer_without_tensorflows_log_lines(run, ledger):
    done = subprocess.run([sys.executable, "-m", "mer_utils.predict", "--run", str(run.run_dir),
                           ledger["audio_path"].iloc[0], "--models", "audio_cnn", "--format", "csv"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("song,model,modality") and len(done.stdout.splitlines()) == 3
    assert done.stderr == ""


def test_cli_refuses_unreadable_audio_naming_file_and_reason(run, tmp_path, capsys):
    corrupt = write_corrupt_mp3(tmp_path / "broken.mp3")
    status, out, err = cli(capsys, "--run", run.run_dir, corrupt)
    assert status == 1 and out == ""
    assert str(corrupt) in err and "unreadable_audio" in err


def test_cli_refuses_a_run_without_models(tmp_path, capsys):
    (tmp_path / "run.json").write_text("{}")
    status, _, err = cli(capsys, "--run", tmp_path, tmp_path / "song.mp3")
    assert status == 1 and "holds no usable trained model" in err and "04-06" in err
    status, _, err = cli(capsys, "--run", tmp_path / "nowhere", tmp_path / "song.mp3")
    assert status == 1 and "does not exist" in err


def test_cli_asks_for_lyrics_when_the_run_only_reads_lyrics(run, ledger, tmp_path, capsys):
    lyrics_only = only_models(run, tmp_path, ["lyrics_cnn"])
    status, _, err = cli(capsys, "--run", lyrics_only, ledger["audio_path"].iloc[0])
    assert status == 1 and "no model of" in err and "lyrics_cnn reads lyrics" in err and "--lyrics" in err


def test_cli_scores_a_folder_and_reports_the_bad_songs(run, ledger, tmp_path, capsys):
    folder = tmp_path / "songs"
    (folder / "lyrics").mkdir(parents=True)
    for track_id in ledger.index[:2]:
        shutil.copy(ledger.loc[track_id, "audio_path"], folder / f"{track_id}.flac")
    shutil.copy(ledger["lyrics_path"].iloc[0], folder / "lyrics" / f"{ledger.index[0]}.txt")
    write_corrupt_mp3(folder / "broken.mp3")
    status, out, err = cli(capsys, "--run", only_models(run, tmp_path, ["audio_cnn", "lyrics_cnn"]), folder,
                           "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert status == 1 and "broken.mp3" in err and "unreadable_audio" in err
    assert table.groupby("song")["model"].apply(list).to_dict() == {
        f"{ledger.index[0]}.flac": ["audio_cnn", "lyrics_cnn", "ensemble"],
        f"{ledger.index[1]}.flac": ["audio_cnn", "ensemble"]}
    assert f"{ledger.index[1]}.flac has no lyrics: lyrics_cnn left out" in err


def test_cli_scores_lyrics_alone(run, ledger, capsys):
    lyrics_file = ledger["lyrics_path"].iloc[0]
    for args in (["--lyrics", lyrics_file], [lyrics_file]):
        status, out, err = cli(capsys, "--run", run.run_dir, *args, "--format", "csv")
        table = pd.read_csv(io.StringIO(out))
        assert status == 0 and list(table["model"]) == ["lyrics_cnn", "ensemble"], err
        assert "has no audio: audio_cnn, fused left out" in err
    status, _, err = cli(capsys, "--run", run.run_dir, lyrics_file, "--lyrics", lyrics_file)
    assert status == 2 and "is lyrics (.txt) already" in err


def test_cli_reads_a_songs_table(run, ledger, tmp_path, capsys):
    songs = tmp_path / "songs.csv"
    pd.DataFrame({"song": ["first"], "lyrics_path": [ledger["lyrics_path"].iloc[0]]}).to_csv(songs, index=False)
    status, out, _ = cli(capsys, "--run", run.run_dir, songs, "--format", "json", "--models", "lyrics_cnn")
    assert status == 0 and {r["song"] for r in json.loads(out)} == {"first"}


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_a_songs_table_of_one_column_or_any_separator_is_read(tmp_path, sep):
    """The separator is sniffed among ",", ";" and tab only: a one-column table is not split at a letter."""
    one = tmp_path / "one.csv"
    one.write_text("audio_path\nsongs/a.mp3\n", encoding="utf-8")
    songs = predict.song_list(one)
    assert songs.to_dict("records") == [{"song": "a.mp3", "audio_path": tmp_path / "songs" / "a.mp3",
                                         "lyrics_path": None}]
    table = tmp_path / "songs.csv"
    table.write_text(sep.join(["song", "audio_path", "lyrics_path"]) + "\n"
                     + sep.join(["first", "a.mp3", "lyrics/a.txt"]) + "\n" + sep.join(["", "", "b.txt"]) + "\n",
                     encoding="utf-8")
    songs = predict.song_list(table)
    assert list(songs["song"]) == ["first", "b.txt"]
    twice = tmp_path / "twice.csv"
    twice.write_text("song,audio_path\nsame,a.mp3\nsame,b.mp3\n", encoding="utf-8")
    assert list(predict.song_list(twice)["song"]) == ["same", "same#2"], "each song's rows stay told apart"
    assert list(songs["lyrics_path"]) == [tmp_path / "lyrics" / "a.txt", tmp_path / "b.txt"]
    assert songs["audio_path"].iloc[1] is None


def test_cli_bad_invocations_exit_2(run, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        predict.main([str(tmp_path / "song.mp3")])  # no --run
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        predict.main(["--run", str(run.run_dir), "song.mp3", "--format", "xml"])
    assert caught.value.code == 2
    (tmp_path / "folder").mkdir()
    status, _, err = cli(capsys, "--run", run.run_dir, tmp_path / "folder", "--lyrics", "x.txt")
    assert status == 2 and "holds no audio file" in err
    for args in (["--models", "audio_cnn,ensemble", "song.mp3"], []):  # an unknown model; no song, no lyrics
        with pytest.raises(SystemExit) as caught:
            predict.main(["--run", str(run.run_dir), *args])
        assert caught.value.code == 2
    assert "unknown model(s) ensemble; known: audio_cnn" in capsys.readouterr().err


def test_a_model_trained_on_crops_scores_whole_songs_as_training_scored_them(run, ledger, tmp_path):
    """crop_frames: the predictor reads the clip's windows and averages them, as the saved predictions did."""
    from mer_utils import training
    from mer_utils.paths import RunLayout
    from tiny_run import TRAINING

    copy = RunLayout(tmp_path / "cropped")
    shutil.copytree(run.data_dir, copy.data_dir)
    shutil.copy(run.run_dir / "run.json", copy.run_dir / "run.json")
    data = training.TrainingData.from_layout(copy, "audio_cnn")
    data.splits = data.splits[:1]
    training.train_on_splits("audio_cnn", copy, data=data, **{**TRAINING, "epochs": 1}, crop_frames=110)

    cropped = predict.Predictor(copy.run_dir)
    trained = cropped.models["audio_cnn"]
    assert trained.splits[0].inputs[0].shape[1] == PARAMS["n_frames"], "read over whole clips"
    saved = read_predictions(copy.model_dir("audio_cnn", 0) / "predictions.csv").head(3)
    for track_id, prob in zip(saved["track_id"], saved["prob_positive"]):
        song = cropped.prepare(ledger.loc[track_id, "audio_path"])
        assert trained.probabilities(song)[1] == pytest.approx(prob, abs=1e-5), track_id
    assert explain.find_layer(trained.splits[0], explain.MEL_STANDARDIZE_LAYER) is not None, "occlusion fills with it"
    explanation = cropped.explain_audio(song, "audio_cnn")
    assert explanation.saliency.shape == (PARAMS["n_mels"], PARAMS["n_frames"])
