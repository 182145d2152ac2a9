"""The run-level feature matrix: the cache's numbers in one file, rebuilt whenever it no longer matches."""

import json
import os

import numpy as np
import pytest

from mer_utils import feature_matrix, mels, training

N_MELS, N_FRAMES = 6, 10


def write_features(folder, n_tracks, *, seed=0):
    """``{track_id: .npy path}`` of random float16 (n_mels, n_frames) features, as the mel cache holds them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sources = {}
    for i in range(n_tracks):
        path = folder / f"t{i:02d}.npy"
        np.save(path, rng.normal(-40, 10, size=(N_MELS, N_FRAMES)).astype(np.float16))
        sources[f"t{i:02d}"] = path
    return sources


def rewrite(path, array):
    """Replace a cached feature the way the cache does (new file, new modification time)."""
    before = os.stat(path).st_mtime_ns
    np.save(path, array)
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def run(tmp_path, layout):
    """A run whose index (``data/mels.csv``) lists 12 cached features: ``(layout, sources)``."""
    sources = write_features(tmp_path / "cache", 12)
    mels.write_index(layout, sources)
    return layout, sources


@pytest.mark.parametrize("budget_mb", [0, 10])
def test_matrix_serves_the_caches_numbers_in_index_order(run, budget_mb):
    layout, sources = run
    matrix = mels.open_matrix(layout, memory_budget_mb=budget_mb)
    store = mels.MelStore.open(layout)
    assert matrix.in_memory == bool(budget_mb)
    assert matrix.ids == store.ids == list(sources) and len(matrix) == 12 and "t03" in matrix
    assert matrix.shape == store.shape == (N_MELS, N_FRAMES) and matrix.row_shape == (N_FRAMES, N_MELS)
    picked = ["t07", "t00", "t07", "t11"]
    stored = matrix.read(picked)
    assert stored.dtype == np.float16 and stored.shape == (4, N_FRAMES, N_MELS)
    np.testing.assert_array_equal(stored[1], np.load(sources["t00"]).T)
    batch = matrix.batch(picked)
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch, store.batch(picked))
    np.testing.assert_array_equal(matrix.get("t05"), store.get("t05"))
    on_disk = np.load(layout.matrix_dir("mels") / feature_matrix.MATRIX_FILE, mmap_mode="r")
    assert on_disk.shape == (12, N_FRAMES, N_MELS) and on_disk.dtype == np.float16 and on_disk.flags.c_contiguous
    with pytest.raises(KeyError, match="no feature for track 'gone'"):
        matrix.read(["t01", "gone"])


def test_reused_while_the_cache_is_unchanged(run):
    layout, _ = run
    assert mels.open_matrix(layout).rebuilt_because == "it does not exist yet"
    built = (layout.matrix_dir("mels") / feature_matrix.MATRIX_FILE).stat().st_mtime_ns
    again = mels.open_matrix(layout)
    assert again.rebuilt_because is None
    assert (layout.matrix_dir("mels") / feature_matrix.MATRIX_FILE).stat().st_mtime_ns == built


def test_a_changed_cached_feature_rebuilds_the_matrix(run):
    layout, sources = run
    mels.open_matrix(layout)
    changed = np.full((N_MELS, N_FRAMES), -7.0, dtype=np.float16)
    rewrite(sources["t04"], changed)
    matrix = mels.open_matrix(layout)
    assert "1 per-track files changed" in matrix.rebuilt_because and "t04" in matrix.rebuilt_because
    np.testing.assert_array_equal(matrix.get("t04"), changed)


def test_a_track_gone_or_added_rebuilds_the_matrix(run, tmp_path):
    layout, sources = run
    mels.open_matrix(layout)
    fewer = {t: p for t, p in sources.items() if t != "t02"}
    mels.write_index(layout, fewer)
    matrix = mels.open_matrix(layout)
    assert "1 no longer in the index" in matrix.rebuilt_because and "t02" not in matrix and len(matrix) == 11
    extra = write_features(tmp_path / "more", 1, seed=5)
    more = {**fewer, "new": extra["t00"]}
    mels.write_index(layout, more)
    matrix = mels.open_matrix(layout)
    assert "1 new" in matrix.rebuilt_because
    np.testing.assert_array_equal(matrix.get("new"), np.load(extra["t00"]))
    mels.write_index(layout, dict(reversed(list(more.items()))))
    assert mels.open_matrix(layout).rebuilt_because == "the track order differs"


def test_a_missing_cached_feature_is_an_error_not_a_stale_row(run):
    layout, sources = run
    mels.open_matrix(layout)
    sources["t09"].unlink()
    with pytest.raises(ValueError, match=r"1 per-track feature files are missing, e\.g\. .*t09\.npy \(track t09\)"):
        mels.open_matrix(layout)


def test_a_damaged_or_foreign_index_is_rebuilt(run):
    layout, _ = run
    mels.open_matrix(layout)
    index = layout.matrix_dir("mels") / feature_matrix.INDEX_FILE
    index.write_text("{not json", encoding="utf-8")
    assert mels.open_matrix(layout).rebuilt_because == "its index is unreadable"
    content = json.loads(index.read_text(encoding="utf-8"))
    index.write_text(json.dumps({**content, "transform": "identity"}), encoding="utf-8")
    assert "another version or with another layout" in mels.open_matrix(layout).rebuilt_because


def test_a_failed_build_leaves_the_previous_matrix(run):
    layout, sources = run
    mels.open_matrix(layout)
    np.save(sources["t06"], np.zeros((N_MELS, N_FRAMES + 1), dtype=np.float16))
    with pytest.raises(ValueError, match=r"t06\.npy \(track t06\) has shape \(11, 6\)"):
        mels.open_matrix(layout)
    folder = layout.matrix_dir("mels")
    assert sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(".")) == [], "no partial folder left"
    assert json.loads((folder / feature_matrix.INDEX_FILE).read_text())["ids"] == list(sources)


def test_a_truncated_matrix_file_is_refused(run):
    layout, _ = run
    mels.open_matrix(layout)
    path = layout.matrix_dir("mels") / feature_matrix.MATRIX_FILE
    os.truncate(path, path.stat().st_size - 2)
    with pytest.raises(ValueError, match="bytes, .* expected: delete the folder"):
        feature_matrix.FeatureMatrix(layout.matrix_dir("mels"))


@pytest.mark.parametrize("budget_mb", [0, 10])
def test_training_batches_from_the_matrix_equal_those_from_the_store(run, budget_mb):
    layout, sources = run
    ids, labels = list(sources), np.arange(12) % 2
    from_store = training.make_dataset(ids, labels, mels=mels.MelStore.open(layout), batch_size=5, shuffle=True,
                                       seed=3)
    from_matrix = training.make_dataset(ids, labels, mels=mels.open_matrix(layout, memory_budget_mb=budget_mb),
                                        batch_size=5, shuffle=True, seed=3)
    for (x_store, y_store), (x_matrix, y_matrix) in zip(from_store, from_matrix, strict=True):
        assert x_matrix["mel"].dtype == x_store["mel"].dtype == "float32"
        np.testing.assert_array_equal(x_matrix["mel"].numpy(), x_store["mel"].numpy())
        np.testing.assert_array_equal(y_matrix.numpy(), y_store.numpy())


def test_training_data_reads_the_run_matrix(run, monkeypatch):
    layout, _ = run
    from mer_utils import splits

    monkeypatch.setattr(splits, "load_splits", lambda layout: [])
    monkeypatch.setattr(splits, "label_map", lambda layout: {})
    monkeypatch.setattr(splits, "load_classes", lambda layout: ("negative", "positive"), raising=False)
    data = training.TrainingData.from_layout(layout, "audio_cnn", feature_memory_mb=0)
    assert isinstance(data.mels, mels.MelMatrix) and not data.mels.in_memory
    assert (layout.matrix_dir("mels") / feature_matrix.MATRIX_FILE).is_file()
