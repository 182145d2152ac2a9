"""What the study's figures share: the colour of each class, and a font that draws Hangul.

Korean words need a font with Hangul glyphs, which servers rarely have. The
pinned ``koreanize-matplotlib`` package ships NanumGothic; its font file is
registered with matplotlib's font manager by path, and only text drawn with
:func:`hangul_font`'s keyword arguments uses it. (Importing that package would
instead make NanumGothic every figure's default font, behind the user's back.)
When no Hangul font loads, :func:`drawable` romanises Korean letter by letter
(``눈물`` -> ``nunmul``) rather than draw empty boxes.
"""

import functools
import importlib.util
from pathlib import Path

from matplotlib import font_manager

from .hangul import romanize
from .pos import has_hangul

#: Colour of each class, in every figure of the study.
CLASS_COLORS = {"negative": "tab:blue", "positive": "tab:orange"}

#: The package that ships a Hangul font, and the font file inside it.
FONT_PACKAGE = "koreanize_matplotlib"
FONT_FILE = "fonts/NanumGothic.ttf"
#: Installed fonts with Hangul glyphs, tried in this order when the shipped one cannot load.
HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "AppleGothic",
                "Apple SD Gothic Neo", "UnDotum", "Baekmuk Gulim")


def class_colors(classes):
    """Colour of each class: :data:`CLASS_COLORS` for the paper's two, else matplotlib's cycle (``C0``, ``C1``...)."""
    return {name: CLASS_COLORS.get(name, f"C{i % 10}") for i, name in enumerate(classes)}


def hangul_font():
    """Keyword arguments for matplotlib text that may contain Hangul, or ``None`` when no font can draw it.

    Returns
    -------
    dict or None
        ``{"fontfamily": [<Hangul font>, "sans-serif"]}``, to pass to
        ``ax.set_title``, ``ax.set_yticks`` and the like.
    """
    name = hangul_font_name()
    return {"fontfamily": [name, "sans-serif"]} if name else None


@functools.cache
def hangul_font_name():
    """Family name of a font with Hangul glyphs: the shipped NanumGothic, else an installed one, else ``None``."""
    return _register_shipped_font() or _installed_hangul_font()


def drawable(text):
    """``text`` as it can be drawn here: romanised when it has Hangul and no font can draw it."""
    return romanize(text) if has_hangul(text) and not hangul_font() else text


def _register_shipped_font():
    """Register :data:`FONT_FILE` of :data:`FONT_PACKAGE` with the font manager; its family name, or ``None``.

    The package is located, not imported: importing it changes the default font.
    """
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / FONT_FILE
    try:
        font_manager.fontManager.addfont(path)
    except (OSError, RuntimeError):  # missing, or not a font FreeType can read
        return None
    return font_manager.FontProperties(fname=path).get_name()


def _installed_hangul_font():
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in installed), None)
