"""The generated demo corpus: a labelled teaching corpus with planted defects (see :mod:`.corpus`).

Reached through :func:`mer_utils.corpus.build_manifest` (``corpus="demo"``);
:mod:`.audio` synthesizes the music and :mod:`.lyrics` writes the words.
"""
