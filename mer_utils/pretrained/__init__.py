"""Pretrained audio networks, rebuilt in Keras 3 from their published weights.

- :mod:`mer_utils.pretrained.musicnn_input`  musicnn's input (16 kHz, 96 mels, 3 s patches);
  NumPy only, so worker processes import it without TensorFlow
- :mod:`mer_utils.pretrained.musicnn`        the musicnn network (Pons & Serra, 2019): tag
  probabilities and the penultimate layer, from the checkpoints of the ``musicnn`` wheel
"""
