"""musicnn fine-tuned as the audio model: what trains, what stays frozen, the outputs, a clip without patches."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils import accounting, beyond, catalogue, outputs, results, splits
from mer_utils.catalogue import AUDIO_BASELINE, FINETUNED_AUDIO
from mer_utils.paths import RunLayout
from mer_utils.pretrained import musicnn, musicnn_finetune

from messy_corpus import ledger_of

needs_wheel = pytest.mark.skipif(importlib.util.find_spec("musicnn") is None,
                                 reason=f"the musicnn weights are not installed ({musicnn.INSTALL_COMMAND})")
#: Two epochs of two 3 s patches per clip; a larger inner validation part than the default, for 6-track training parts.
FAST = {"epochs": 2, "patience": 1, "batch_size": 8, "train_patches_per_clip": 2, "max_seconds": 6.0,
        "val_fraction": 0.34, "n_workers": 1, "progress": False}
SAMPLE_RATE = 16000


def _clip(label, k, seconds=6.0):
    """Class 0: a low tone; class 1: a high tone with noise; ``k`` shifts the pitch."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(k)
    if label == 0:
        return (0.3 * np.sin(2 * np.pi * (110 + 10 * k) * t)).astype(np.float32)
    return (0.2 * np.sin(2 * np.pi * (1760 + 40 * k) * t) + rng.normal(scale=0.05, size=len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def variables():
    return musicnn.read_checkpoint(musicnn.DEFAULT_MODEL)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Twelve 6 s clips of two classes and one 2 s clip (no whole patch), in two outer folds; fine-tuned once."""
    root = tmp_path_factory.mktemp("finetune")
    layout, rows = RunLayout(root / "run"), []
    for i in range(13):
        label, seconds = i % 2, (2.0 if i == 0 else 6.0)
        path = root / "audio" / f"song-{i:02d}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, _clip(label, i, seconds), SAMPLE_RATE)
        rows.append({"track_id": f"song-{i:02d}", "audio_path": str(path),
                     "label": ("negative", "positive")[label]})
    accounting.write_ledger(ledger_of(rows), layout.tracks_csv)
    ids = [row["track_id"] for row in rows]
    folds = [ids[:7], ids[7:]]  # the short clip song-00 is scored in split 0 and trains in split 1
    splits.save_splits(layout, [{"train": [t for t in ids if t not in val], "val": val} for val in folds],
                       params={"scheme": "fixed"})
    table = musicnn_finetune.finetune_nested(layout, seed=11, **FAST)
    return layout, table, folds


@needs_wheel
def test_outputs_follow_the_contract_and_results_read_them(tiny_run):
    layout, table, folds = tiny_run
    assert table["split"].tolist() == [0, 1] and table["n_test"].tolist() == [7, 6]
    assert (table["epochs_run"] >= 1).all() and (table["best_epoch"] <= table["epochs_run"]).all()
    for i, val in enumerate(folds):
        folder = layout.model_dir(FINETUNED_AUDIO, i)
        predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
        assert predictions["track_id"].tolist() == val, "every outer-fold track is scored, in order"
        assert predictions["prob_positive"].between(0, 1).all()
        history = outputs.read_history(folder / outputs.HISTORY_CSV)
        assert len(history) == table.loc[i, "epochs_run"] and history["val_loss"].notna().all()
        record = outputs.read_provenance(folder / outputs.PROVENANCE_JSON)
        assert record["protocol"] == "never-tuned" and record["seed"] == 11 + i
        assert record["checkpoint"] == "MSD_musicnn" and record["parameters"]["learning_rate"] == 1e-4
        assert set(record["inner_val_scores"]) >= {"balanced_accuracy", "roc_auc"} and "libraries" in record
        scores = outputs.read_metrics(folder / outputs.METRICS_JSON)
        assert scores["n"] == len(val)
    summary = beyond.extended_summary(results.collect_metrics(layout, models=None))
    assert set(summary["model"]) == {FINETUNED_AUDIO} and set(summary["protocol"]) == {"never-tuned"}


@needs_wheel
def test_a_clip_without_patches_is_scored_with_the_prior_and_counted(tiny_run):
    layout, _, folds = tiny_run
    scored = outputs.read_provenance(layout.model_dir(FINETUNED_AUDIO, 0) / outputs.PROVENANCE_JSON)
    assert scored["imputed_test"] == 1 and scored["imputed_train"] + scored["imputed_inner_val"] == 0
    assert [(r["track_id"], r["reason"]) for r in scored["rejections"]] == [("song-00", "too_short")]
    predictions = outputs.read_predictions(layout.model_dir(FINETUNED_AUDIO, 0) / outputs.PREDICTIONS_CSV)
    train = [t for t in sum(folds, []) if t not in folds[0]]
    prior = np.mean([int(t.split("-")[1]) % 2 for t in train])  # share of class 1 in the training part
    assert predictions.loc[predictions["track_id"] == "song-00", "prob_positive"].item() == pytest.approx(prior)
    trained = outputs.read_provenance(layout.model_dir(FINETUNED_AUDIO, 1) / outputs.PROVENANCE_JSON)
    assert trained["imputed_train"] + trained["imputed_inner_val"] == 1 and trained["imputed_test"] == 0


def _patches(n_clips, n_patches, seed, frames=48):
    """Random patches; shorter than musicnn's 187 frames (the network takes any length), for speed."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 2, size=(n_patches, frames, 96)).astype(np.float32) for _ in range(n_clips)]


@needs_wheel
def test_fine_tuning_moves_the_backbone_but_not_the_batch_norm_statistics(variables):
    import keras

    clips, val = _patches(6, 2, seed=0), _patches(3, 2, seed=1)
    options = musicnn_finetune.FinetuneOptions(epochs=1, patience=0, batch_size=6)
    fit = lambda seed: musicnn_finetune.fit_finetuned(clips, [0, 1, 2, 0, 1, 2], val, [0, 1, 2], n_classes=3,
                                                      seed=seed, options=options, variables=variables)
    tuned, history, best_epoch = fit(3)
    fresh = musicnn_finetune.build_finetune_model(3, variables=variables)
    assert len(history) == best_epoch == 1
    for name in ("timbral_7x38", "temporal_128", "midend_2", "penultimate_dense"):
        assert not np.allclose(tuned.get_layer(name).get_weights()[0], fresh.get_layer(name).get_weights()[0],
                               rtol=0, atol=1e-7), f"{name} did not train"
    norms = [layer.name for layer in fresh.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 11
    for name in norms:  # gamma, beta, moving mean and variance: the checkpoint's
        for before, after in zip(fresh.get_layer(name).get_weights(), tuned.get_layer(name).get_weights()):
            np.testing.assert_array_equal(after, before, err_msg=name)
    prob = musicnn_finetune.clip_probabilities(tuned, val, batch_size=4)
    assert prob.shape == (3, 3)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # the same seed, the same model; another seed, another
    again, _, _ = fit(3)
    np.testing.assert_allclose(musicnn_finetune.clip_probabilities(again, val), prob, rtol=0, atol=1e-6)
    other, _, _ = fit(4)
    assert not np.allclose(musicnn_finetune.clip_probabilities(other, val), prob, rtol=0, atol=1e-6)


@needs_wheel
@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_probe_head_gives_the_logistic_regressions_probabilities(variables, n_classes):
    import keras

    network = musicnn_finetune.build_finetune_model(n_classes, variables=variables)
    clips = _patches(12, 1, seed=5)  # one patch each: the head's patch probabilities are the clip's
    labels = np.arange(len(clips)) % n_classes
    probe = musicnn_finetune.probe_head(network, clips, labels, seed=0, batch_size=4)
    assert probe.best_params_["logisticregression__C"] in beyond.C_GRID
    patches = np.concatenate(clips)
    penultimate = keras.Model(network.input, network.get_layer("penultimate_bn").output).predict_on_batch(patches)
    expected = probe.predict_proba(np.asarray(penultimate, dtype=np.float64))
    np.testing.assert_allclose(network.predict_on_batch(patches), expected, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="every class needs training clips"):
        musicnn_finetune.probe_head(network, clips, np.zeros(len(clips), dtype=int), seed=0)


def test_missing_wheel_says_how_to_install(monkeypatch, layout):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "musicnn" else real_find_spec(name, *args))
    with pytest.raises(musicnn.MusicnnUnavailable, match=r"pip install --no-deps musicnn==0\.1\.0"):
        musicnn_finetune.finetune_nested(layout, seed=0)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="train_patches_per_clip must be at least 1"):
        musicnn_finetune.FinetuneOptions(train_patches_per_clip=0)
    with pytest.raises(ValueError, match="unknown head_init 'zeros'"):
        musicnn_finetune.FinetuneOptions(head_init="zeros")


def test_catalogue_entry_is_a_never_tuned_audio_row():
    info = catalogue.model_info(FINETUNED_AUDIO)
    assert (info.modality, info.protocol, info.family) == ("audio", "never-tuned", "pretrained")
    assert info.architecture is None, "not a paper network"
    pairs = beyond.comparison_pairs(pd.DataFrame({"model": [FINETUNED_AUDIO, AUDIO_BASELINE, "fused"], "runs": 5}))
    assert pairs == [(FINETUNED_AUDIO, "fused"), (FINETUNED_AUDIO, AUDIO_BASELINE)]
    frozen = catalogue.PRETRAINED_AUDIO
    pairs = beyond.comparison_pairs(pd.DataFrame({"model": [FINETUNED_AUDIO, frozen, "fused"], "runs": 5}))
    assert (FINETUNED_AUDIO, frozen) in pairs, "fine-tuned against its own frozen features"
