"""Several devices: models train under tf.distribute.MirroredStrategy when more than one GPU is visible.

CI has no GPU, so a subprocess splits its CPU into two logical devices and
stands them in for two GPUs: the code path (strategy, mirrored variables, a
global batch split between replicas, saving) is the one several GPUs take.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mer_utils import training

#: Trains the fused model on two logical CPU devices as if they were two GPUs; prints a JSON summary.
TWO_DEVICES = """
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from mer_utils import training
from mer_utils.paths import RunLayout
sys.path.insert(0, sys.argv[2])
from test_training import FAST, fake_data

training._replica_devices = lambda: [d.name for d in tf.config.list_logical_devices("CPU")]
used = []
choose = training.distribution_strategy
training.distribution_strategy = lambda: used.append(choose()) or used[-1]

data = fake_data(n_tracks=40, n_splits=1)
layout = RunLayout(sys.argv[1])
summary = training.train_on_splits("fused", layout, data=data, **{**FAST, "epochs": 4})
provenance = json.loads((layout.model_dir("fused", 0) / "provenance.json").read_text())
model = training.load_model(layout, "fused", 0)
ids = data.splits[0]["train"]
dataset = training.make_dataset(ids, np.zeros(len(ids), np.int32), mels=data.mels, batch_size=FAST["batch_size"])
first, _ = next(iter(used[0].experimental_distribute_dataset(dataset)))
print(json.dumps({
    "replica_batches": [int(part.shape[0]) for part in used[0].experimental_local_results(first["mel"])],
    "strategy": type(used[0]).__name__, "replicas_in_sync": used[0].num_replicas_in_sync,
    "devices": list(used[0].extended.worker_devices), "recorded_replicas": provenance["device"]["replicas"],
    "accuracy": float(summary.loc[0, "accuracy"]), "loaded_params": int(model.count_params()),
    "trained_params": int(provenance["n_params"]),
}))
"""


def test_two_devices_train_one_model_mirrored(tmp_path):
    done = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(tmp_path / "run"), str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["strategy"] == "MirroredStrategy" and result["replicas_in_sync"] == 2
    assert [d.rsplit(":", 2)[-2:] for d in result["devices"]] == [["CPU", "0"], ["CPU", "1"]]
    assert result["recorded_replicas"] == 2
    assert result["replica_batches"] == [4, 4], "batch_size 8 is the global batch: 4 tracks per device"
    assert result["accuracy"] >= 0.75, "the toy data are separable: the mirrored model learns them"
    assert result["loaded_params"] == result["trained_params"] > 0, "the saved model loads without the strategy"


def test_one_device_keeps_the_default_strategy(monkeypatch):
    monkeypatch.setattr(training, "_replica_devices", lambda: ["/device:GPU:0"])
    assert not isinstance(training.distribution_strategy(), type(None))
    assert training.distribution_strategy().num_replicas_in_sync == 1
    monkeypatch.setattr(training, "_replica_devices", lambda: [])
    assert training.distribution_strategy().num_replicas_in_sync == 1


@pytest.mark.parametrize("n_devices", [2, 3])
def test_several_devices_choose_mirroring(monkeypatch, n_devices):
    """Only the choice (building the strategy on devices this machine lacks would fail when used)."""
    made = []
    monkeypatch.setattr(training, "_replica_devices", lambda: [f"/device:GPU:{i}" for i in range(n_devices)])
    monkeypatch.setattr(training.tf.distribute, "MirroredStrategy", lambda devices: made.append(devices) or "mirrored")
    assert training.distribution_strategy() == "mirrored"
    assert made == [[f"/device:GPU:{i}" for i in range(n_devices)]]
