"""Utilities for the reproduction of Jeon et al. (RecSys 2017).

Multimodal music emotion recognition (the paper's positive / negative, or any label scheme) from a song's
mel-spectrogram and its lyrics. Modules are split by concern:

- :mod:`mer_utils.config`     paper constants and defaults, in one place
- :mod:`mer_utils.paths`      every path of the project, derived from one root
- :mod:`mer_utils.accounting` the kept / rejected ledger every stage writes to
- :mod:`mer_utils.run`        the papermill runner (``python -m mer_utils.run``)

The other modules (corpus, filtering, mels, lyrics, models, training,
results, pretrained, predict, ...) are imported on their own so that a
notebook only pays for what it uses; docs/architecture.md maps them all.
"""

__version__ = "0.1.0"
