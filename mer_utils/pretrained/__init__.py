"""Pretrained models: audio networks rebuilt in Keras 3 from their published weights, and lyrics features.

- :mod:`mer_utils.pretrained.musicnn_input`  musicnn's input (16 kHz, 96 mels, 3 s patches);
  NumPy only, so worker processes import it without TensorFlow
- :mod:`mer_utils.pretrained.musicnn`        the musicnn network (Pons & Serra, 2019): tag
  probabilities and the penultimate layer, from the checkpoints of the ``musicnn`` wheel
- :mod:`mer_utils.pretrained.musicnn_features` the musicnn features of a corpus: cached, patches
  prepared in worker processes, the network run here on batches of clips
- :mod:`mer_utils.pretrained.lyrics_features`  English lyrics: WordLlama static embeddings, VADER and
  TextBlob sentiment, from files inside their wheels (offline), cached
- :mod:`mer_utils.pretrained.feature_cache`    the per-item ``.npz`` cache both use
"""
