"""musicnn (Pons & Serra, 2019), rebuilt in Keras 3 from the checkpoints of its PyPI wheel.

The wheel ``musicnn==0.1.0`` (ISC licence) ships the trained weights as
TensorFlow 1 checkpoints, but its code needs graph mode and tf-keras and
switches eager execution off for the whole process. So the wheel is only
the carrier of the weights (installed with ``--no-deps``; see the Makefile):
this module reads the checkpoints with TensorFlow's checkpoint reader and
loads them, variable by variable (:data:`CHECKPOINT_SCOPES`), into the same
network written with Keras 3 layers, in inference mode.

The network (``musicnn.models.build_musicnn``), for a patch of 187 frames x 96 mels:

- front end: batch norm of the input, then five convolutions, each with
  ReLU, batch norm and a max over frequency: two timbral ones (7 frames x
  38 or 67 mels, 204 filters) and three temporal ones (128, 64 and 32
  frames x 1 mel, 51 filters each, "same" padding); 561 features per frame;
- mid end: three 1-D convolutions over time (7 frames, 64 filters, ReLU,
  batch norm), the second and third with residual connections, densely
  connected: 561 + 3 x 64 = 753 features per frame;
- back end: max and mean over time (interleaved, 1506 values), batch norm,
  dense 200 with ReLU, batch norm (the **penultimate** layer, 200 values),
  dense 50 with a sigmoid (the **tag probabilities**).

Per clip, :meth:`Musicnn.clip_features` gives the tag probabilities averaged
over the clip's 3 s patches (what ``musicnn.tagger`` reports) and the
penultimate layer pooled over them (mean, std and max: 600 values).

``tests/test_musicnn.py`` checks the port against the original package on
synthesized clips (``tests/data/musicnn_reference.npz``).
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import musicnn_input

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow starts quietly in notebooks

#: The wheel that carries the weights, and how to install it (its metadata pins numpy<1.17: no deps).
PACKAGE = "musicnn==0.1.0"
INSTALL_COMMAND = "pip install --no-deps musicnn==0.1.0"
#: Checkpoints of the wheel this module can load (the vgg ones are another network).
MODELS = ("MSD_musicnn", "MTT_musicnn")
DEFAULT_MODEL = "MSD_musicnn"
#: Width of the mid end and of the penultimate layer, as ``musicnn.models.define_model`` sets them.
MIDEND_FILTERS = 64
BACKEND_UNITS = 200
#: Statistics of the penultimate layer over a clip's patches, in the order of :meth:`Musicnn.clip_features`.
POOLING = ("mean", "std", "max")

#: Keras layer -> variable scope in the checkpoints. The TF1 layers were named by
#: creation order (conv2d, conv2d_1, ...), which follows musicnn.models.build_musicnn.
CHECKPOINT_SCOPES = {
    "input_bn": "batch_normalization",
    "timbral_7x38": "conv2d",
    "timbral_7x38_bn": "batch_normalization_1",
    "timbral_7x67": "conv2d_1",
    "timbral_7x67_bn": "batch_normalization_2",
    "temporal_128": "conv2d_2",
    "temporal_128_bn": "batch_normalization_3",
    "temporal_64": "conv2d_3",
    "temporal_64_bn": "batch_normalization_4",
    "temporal_32": "conv2d_4",
    "temporal_32_bn": "batch_normalization_5",
    "midend_1": "conv2d_5",
    "midend_1_bn": "batch_normalization_6",
    "midend_2": "conv2d_6",
    "midend_2_bn": "batch_normalization_7",
    "midend_3": "conv2d_7",
    "midend_3_bn": "batch_normalization_8",
    "pool_bn": "batch_normalization_9",
    "penultimate_dense": "dense",
    "penultimate_bn": "batch_normalization_10",
    "logits": "dense_1",
}
#: Variables of each kind of layer, in the order Keras' ``set_weights`` takes them.
_VARIABLES = {
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
    "Conv1D": ("kernel", "bias"),
    "Conv2D": ("kernel", "bias"),
    "Dense": ("kernel", "bias"),
}


class MusicnnUnavailable(RuntimeError):
    """The musicnn weights cannot be loaded (wheel missing, or a checkpoint that does not read)."""


@dataclass(frozen=True)
class ClipFeatures:
    """musicnn's outputs for one clip.

    Attributes
    ----------
    tags : np.ndarray [shape=(n_tags,), dtype=float32]
        Tag probabilities averaged over the clip's patches (names: :attr:`Musicnn.tag_names`).
    embedding : np.ndarray [shape=(3 * 200,), dtype=float32]
        The penultimate layer's mean, std and max over the patches, concatenated (:data:`POOLING`).
    n_patches : int
    """

    tags: np.ndarray
    embedding: np.ndarray
    n_patches: int


# --- the weights ----------------------------------------------------------------

def checkpoint_prefix(model=DEFAULT_MODEL):
    """Path prefix of a checkpoint in the installed wheel (its files are ``<prefix>.index`` etc.).

    Raises
    ------
    MusicnnUnavailable
        If the wheel is not installed or lacks the checkpoint.
    """
    validate_model(model)
    spec = importlib.util.find_spec("musicnn")
    if spec is None or spec.origin is None:
        raise MusicnnUnavailable(f"the musicnn weights come from the {PACKAGE} package, which is not installed: "
                                 f"run `{INSTALL_COMMAND}` (no dependencies: only its checkpoints are used)")
    folder = Path(spec.origin).parent / model
    # The files are named ".index", ".data-00000-of-00001": the prefix is the folder plus a separator.
    if not (folder / ".index").is_file():
        raise MusicnnUnavailable(f"{folder} has no checkpoint ({folder / '.index'} is missing); "
                                 f"reinstall the weights: `{INSTALL_COMMAND} --force-reinstall`")
    return f"{folder}{os.sep}"


def validate_model(model):
    """Raise ``ValueError`` unless ``model`` names a checkpoint this module loads."""
    if model not in MODELS:
        raise ValueError(f"unknown musicnn model {model!r}; available: {', '.join(MODELS)}")


def read_checkpoint(model=DEFAULT_MODEL):
    """The trained variables of a checkpoint (without the optimizer's Adam slots), by name.

    ``tf.train.load_checkpoint`` would look the checkpoint up through the
    folder's ``checkpoint`` file, which points to the author's machine, so
    the reader it returns is opened on the prefix directly.

    Returns
    -------
    dict of str -> np.ndarray
        E.g. ``"conv2d/kernel"`` -> float32 array of shape (7, 38, 1, 204).
    """
    import tensorflow as tf

    prefix = checkpoint_prefix(model)
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        names = [name for name in reader.get_variable_to_shape_map() if "/Adam" not in name]
        return {name: reader.get_tensor(name) for name in names}
    except (tf.errors.OpError, ValueError, RuntimeError) as err:
        raise MusicnnUnavailable(f"the {model} checkpoint at {prefix} does not load ({type(err).__name__}: "
                                 f"{(str(err).splitlines() or [''])[0]}); reinstall the weights: "
                                 f"`{INSTALL_COMMAND} --force-reinstall`") from None


def tag_names(model=DEFAULT_MODEL):
    """The 50 tag names of a checkpoint, in output order (from the wheel's ``musicnn.configuration``)."""
    validate_model(model)
    checkpoint_prefix(model)  # the wheel is there
    from musicnn import configuration  # plain lists, no TensorFlow

    return tuple(configuration.MSD_LABELS if model.startswith("MSD") else configuration.MTT_LABELS)


# --- the network ----------------------------------------------------------------

def build_musicnn(*, n_tags=50, n_mels=musicnn_input.N_MELS, midend_filters=MIDEND_FILTERS,
                  backend_units=BACKEND_UNITS, frames=None):
    """musicnn as a Keras model (untrained): patches in, (tag probabilities, penultimate layer) out.

    Parameters
    ----------
    n_tags, n_mels, midend_filters, backend_units : int
    frames : int or None
        Frames per patch, or None for any number (187 in training).

    Returns
    -------
    keras.Model
        Input [shape=(batch, frames, n_mels)]; outputs
        [shape=(batch, n_tags)] and [shape=(batch, backend_units)], float32.
        Layer names are the keys of :data:`CHECKPOINT_SCOPES`.
    """
    import keras
    from keras import layers, ops

    f32 = {"dtype": "float32"}  # whatever the global mixed-precision policy
    patches = keras.Input(shape=(frames, n_mels), name="patches")
    x = layers.BatchNormalization(name="input_bn", **f32)(ops.expand_dims(patches, -1))  # (b, t, mels, 1)

    def branch(name, inputs, filters, kernel, padding):
        maps = layers.Conv2D(filters, kernel, padding=padding, activation="relu", name=name, **f32)(inputs)
        return ops.max(layers.BatchNormalization(name=f"{name}_bn", **f32)(maps), axis=2)  # over mels

    # Timbral filters span mels (40 % and 70 % of them); time is zero-padded after the input batch norm.
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), **f32)(x)
    front = [branch(f"timbral_7x{int(share * n_mels)}", padded, 204, (7, int(share * n_mels)), "valid")
             for share in (0.4, 0.7)]
    front += [branch(f"temporal_{length}", x, 51, (length, 1), "same") for length in (128, 64, 32)]
    front = ops.concatenate(front, axis=-1)                                             # (b, t, 561)

    def midend(name, inputs):
        maps = layers.Conv1D(midend_filters, 7, padding="same", activation="relu", name=name, **f32)(inputs)
        return layers.BatchNormalization(name=f"{name}_bn", **f32)(maps)

    mid_1 = midend("midend_1", front)
    mid_2 = mid_1 + midend("midend_2", mid_1)
    mid_3 = mid_2 + midend("midend_3", mid_2)
    features = ops.concatenate([front, mid_1, mid_2, mid_3], axis=-1)                   # (b, t, 753)

    # TF1 stacked (max, mean) per feature and flattened: interleaved, as the 1506 batch-norm weights expect.
    pooled = ops.stack([ops.max(features, axis=1), ops.mean(features, axis=1)], axis=-1)
    pooled = layers.BatchNormalization(name="pool_bn", **f32)(layers.Flatten(**f32)(pooled))
    hidden = layers.Dense(backend_units, activation="relu", name="penultimate_dense", **f32)(pooled)
    penultimate = layers.BatchNormalization(name="penultimate_bn", **f32)(hidden)
    probabilities = ops.sigmoid(layers.Dense(n_tags, name="logits", **f32)(penultimate))
    return keras.Model(patches, [probabilities, penultimate], name="musicnn")


def load_weights(network, variables):
    """Set every layer of :func:`build_musicnn`'s network from checkpoint ``variables``, by explicit name.

    Raises
    ------
    ValueError
        If a variable is missing or has another shape, naming both.
    """
    for layer_name, scope in CHECKPOINT_SCOPES.items():
        layer = network.get_layer(layer_name)
        values = []
        for variable, weight in zip(_VARIABLES[type(layer).__name__], layer.weights):
            name = f"{scope}/{variable}"
            if name not in variables:
                raise ValueError(f"checkpoint variable {name} (for layer {layer_name}) is missing")
            value = variables[name]
            if type(layer).__name__ == "Conv1D" and variable == "kernel" and value.ndim == 4:
                value = value[:, :, 0, :]  # TF1 ran the mid end as 2-D convolutions over one channel
            if value.shape != tuple(weight.shape):
                raise ValueError(f"checkpoint variable {name} has shape {variables[name].shape}, "
                                 f"layer {layer_name} needs {tuple(weight.shape)}")
            values.append(value)
        layer.set_weights(values)


# --- using it ----------------------------------------------------------------

class Musicnn:
    """A trained musicnn: tag probabilities and penultimate layer for patches or whole clips.

    Parameters
    ----------
    model : str
        One of :data:`MODELS`: ``"MSD_musicnn"`` (Million Song Dataset tags) or
        ``"MTT_musicnn"`` (MagnaTagATune).
    batch_size : int
        Patches per forward pass.

    Raises
    ------
    MusicnnUnavailable
        If the wheel is not installed or the checkpoint does not load.
    """

    def __init__(self, model=DEFAULT_MODEL, *, batch_size=32):
        variables = read_checkpoint(model)
        self.model = model
        self.batch_size = batch_size
        self.tag_names = tag_names(model)
        self.network = build_musicnn(n_tags=len(self.tag_names))
        try:
            load_weights(self.network, variables)
        except ValueError as err:
            raise MusicnnUnavailable(f"the {model} checkpoint does not fit the network ({err}); "
                                     f"is it {PACKAGE}? `{INSTALL_COMMAND} --force-reinstall`") from None

    def predict(self, patches):
        """Outputs for each patch.

        Parameters
        ----------
        patches : np.ndarray [shape=(n_patches, frames, 96)]
            From :func:`mer_utils.pretrained.musicnn_input.musicnn_patches`.

        Returns
        -------
        tags : np.ndarray [shape=(n_patches, 50), dtype=float32]
            Tag probabilities (the original's "taggram").
        penultimate : np.ndarray [shape=(n_patches, 200), dtype=float32]
        """
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[0] == 0 or patches.shape[2] != musicnn_input.N_MELS:
            raise ValueError(f"musicnn expects patches of shape (n_patches > 0, frames, {musicnn_input.N_MELS}), "
                             f"got {patches.shape}")
        outputs = [self.network.predict_on_batch(patches[start:start + self.batch_size])
                   for start in range(0, len(patches), self.batch_size)]
        return tuple(np.concatenate([np.asarray(out[k]) for out in outputs]) for k in range(2))

    def clip_features(self, patches):
        """One clip's tag probabilities and pooled penultimate layer (see :class:`ClipFeatures`)."""
        tags, penultimate = self.predict(patches)
        return ClipFeatures(tags=tags.mean(axis=0), embedding=pool_patches(penultimate), n_patches=len(patches))

    def clips_features(self, clips):
        """:meth:`clip_features` of several clips, their patches run through the network together.

        Parameters
        ----------
        clips : sequence of np.ndarray [shape=(n_patches, frames, 96)]

        Returns
        -------
        list of ClipFeatures
            One per clip, in order.
        """
        if not len(clips):
            return []
        tags, penultimate = self.predict(np.concatenate(clips))
        bounds = np.cumsum([0, *(len(patches) for patches in clips)])
        return [ClipFeatures(tags=tags[a:b].mean(axis=0), embedding=pool_patches(penultimate[a:b]), n_patches=b - a)
                for a, b in zip(bounds[:-1], bounds[1:])]

    def embedding_names(self):
        """Names of :attr:`ClipFeatures.embedding`'s 600 values: ``penultimate_<stat>_<unit>``."""
        width = self.network.get_layer("penultimate_bn").output.shape[-1]
        return tuple(f"penultimate_{stat}_{unit}" for stat in POOLING for unit in range(width))


def pool_patches(penultimate):
    """Mean, std and max over patches of the penultimate layer [shape=(n_patches, 200)]: shape (600,), float32."""
    penultimate = np.asarray(penultimate, dtype=np.float32)
    return np.concatenate([penultimate.mean(axis=0), penultimate.std(axis=0), penultimate.max(axis=0)])
