"""A small trained run folder, built once per test session, for the prediction and explanation tests.

A demo-like corpus of short English songs (the demo corpus's own synthesizer
and lyrics writer, clear cues) goes through the stages' functions
(:func:`mer_utils.mels.extract_all`, :func:`mer_utils.lyrics.tag_all`) with
small extraction parameters, then three models train: the audio CNN and
the lyrics CNN on two splits, the fused model on one. ``run.json`` records the
parameters as the runner does. About 30 s on 2 cores.

:func:`build_pretrained` copies it and adds notebook 08's pretrained rows
(musicnn and lyrics features, their fits saved by
:func:`mer_utils.beyond.evaluate_pretrained`). The session fixtures ``run``,
``predictor`` and ``pretrained_run`` (``conftest.py``) build them once.
"""

import json
import shutil

import numpy as np

from mer_utils import accounting, lyrics, mels, splits, training
from mer_utils.demo.audio import draw_cues, synthesize, write_audio
from mer_utils.demo.lyrics import write_lyrics
from mer_utils.paths import RunLayout

from messy_corpus import ledger_of

#: Extraction parameters of the tiny run (notebook 02's names): 8 s clips, 32 bands x 128 frames.
PARAMS = {"sample_rate": 16000, "clip_seconds": 8.0, "n_mels": 32, "n_frames": 128, "n_fft": 512}
SOURCE_RATE = 16000
N_PER_CLASS = 24
MODELS = ("audio_cnn", "lyrics_cnn", "fused")
#: Splits each model trains on: two where averaging is tested, one for the slow fused model.
N_SPLITS = {"audio_cnn": 2, "lyrics_cnn": 2, "fused": 1}
TRAINING = {"epochs": 5, "batch_size": 16, "patience": 0, "learning_rate": 0.01, "dropout": 0.0,
            "vocab_size": 400, "max_len": 120, "seed": 7}


def build_pretrained(run, root):
    from mer_utils import beyond
    from mer_utils.pretrained import lyrics_features, musicnn_features

    layout = RunLayout(root / "run")
    shutil.copytree(run.run_dir, layout.run_dir)
    table = accounting.read_ledger(layout.tracks_csv)
    audio = musicnn_features.extract_all(table, max_seconds=PARAMS["clip_seconds"], n_workers=1,
                                         cache_dir=root / "cache", progress=False)
    text = lyrics_features.extract_all(table, cache_dir=root / "cache")
    assert not audio.rejections and not text.rejections
    beyond.evaluate_pretrained(layout, {"musicnn": audio.table(), "lyrics_features": text.features}, seed=7,
                               c_grid=(0.1, 1.0), n_inner=3)
    return layout


def write_song(folder, name, label, rng, *, seconds=PARAMS["clip_seconds"] + 0.5):
    """One English demo song: ``(audio path, lyrics path)``."""
    audio = folder / "audio" / f"{name}.flac"
    audio.parent.mkdir(parents=True, exist_ok=True)
    cues = draw_cues(label, rng=rng, confused=False)
    write_audio(audio, synthesize(cues, duration_s=seconds, sample_rate=SOURCE_RATE, rng=rng),
                sample_rate=SOURCE_RATE)
    text = folder / "lyrics" / f"{name}.txt"
    text.parent.mkdir(parents=True, exist_ok=True)
    lines = write_lyrics(label, "en", rng=rng, n_words=int(rng.integers(60, 100)), faithful=0.9)
    text.write_text("\n".join(lines), encoding="utf-8")
    return audio, text


def build(root):
    rng = np.random.default_rng(2017)
    corpus, layout = root / "corpus", RunLayout(root / "run")
    rows = []
    for i in range(2 * N_PER_CLASS):
        label = ("negative", "positive")[i % 2]
        audio, text = write_song(corpus, f"song-{i:02d}", label, rng)
        rows.append({"track_id": f"song-{i:02d}", "source": "demo", "audio_path": str(audio),
                     "lyrics_path": str(text), "language": "en", "label": label})
    table = ledger_of(rows)
    accounting.write_ledger(table, layout.tracks_csv)

    ids = table["track_id"].tolist()
    val_parts = (ids[:8], ids[8:16])
    splits.save_splits(layout, [{"train": [t for t in ids if t not in val], "val": list(val)} for val in val_parts],
                       params={"scheme": "fixed"})
    extraction = mels.extract_all(table, **PARAMS, n_workers=1, cache_dir=root / "cache" / "mels", progress=False)
    assert not extraction.rejections, extraction.rejections
    mels.write_index(layout, extraction.features)
    tagging = lyrics.tag_all(table, n_workers=1, cache_dir=root / "cache" / "tokens")
    assert not tagging.rejections, tagging.rejections
    lyrics.save_tokens(layout, tagging.tokens)

    for name in MODELS:
        data = training.TrainingData.from_layout(layout, name)
        data.splits = data.splits[:N_SPLITS[name]]
        training.train_on_splits(name, layout, data=data, **TRAINING)
    record = {"profile": "tiny", "parameters": {"seed": 7, **PARAMS, "korean_tagger": "okt",
                                                "min_duration_s": PARAMS["clip_seconds"], "min_lyrics_words": 30},
              "notebooks": [{"notebook": "02_mels.ipynb", "parameters": dict(PARAMS)},
                            {"notebook": "03_lyrics.ipynb", "parameters": {"korean_tagger": "okt"}}]}
    (layout.run_dir / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return layout
