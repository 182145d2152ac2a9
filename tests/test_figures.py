"""What the figures share: Hangul drawn as Hangul (or romanised when no font loads), class colours, units."""

import sys
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.colors import to_rgba
from matplotlib.ft2font import FT2Font

from mer_utils import hangul, lyrics_figures, mel_figures, plotting
from mer_utils.vocabulary import class_association

#: Korean lyrics words and an English one, as notebook 03's class-word figure shows them.
WORDS_TABLE = class_association([["눈물", "rain"], ["눈물", "rain"], ["sun", "joy"], ["sun", "joy"]], [0, 0, 1, 1],
                                top=2, min_tracks=1)


@pytest.fixture(autouse=True)
def fresh_font_lookup():
    """Each test looks the Hangul font up anew (the lookup is cached per process)."""
    plotting.hangul_font_name.cache_clear()
    yield
    plotting.hangul_font_name.cache_clear()
    plt.close("all")


@pytest.fixture
def no_hangul_font(monkeypatch):
    """As on a machine where the shipped font cannot load and no Hangul font is installed."""
    monkeypatch.setattr(plotting, "FONT_PACKAGE", "no_such_font_package")
    monkeypatch.setattr(plotting, "HANGUL_FONTS", ("No Such Hangul Font",))


def missing_glyph_warnings(text, **font):
    """Warnings matplotlib gives while drawing ``text`` with these font keyword arguments."""
    fig, ax = plt.subplots()
    ax.set_title(text, **font)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def tick_labels(fig):
    return sorted(t.get_text() for ax in fig.axes for t in ax.get_yticklabels())


# --- Hangul arithmetic --------------------------------------------------------------

def test_syllables_decompose_into_their_letters_and_back():
    assert hangul.decompose("가") == (0, 0, 0)
    assert hangul.decompose("길") == (0, 20, hangul.FINAL_RIEUL)
    assert hangul.decompose("힣") == (18, 20, 27)
    assert hangul.decompose("a") is None and hangul.decompose("ㄱ") is None  # a lone letter is no syllable
    every = [chr(code) for code in range(hangul.FIRST_SYLLABLE, hangul.FIRST_SYLLABLE + hangul.N_SYLLABLES)]
    assert all(hangul.compose(*hangul.decompose(s)) == s for s in every)


def test_final_consonant_test():
    assert [hangul.final_consonant(c) for c in "사랑미소길x"] == [0, 21, 0, 0, hangul.FINAL_RIEUL, 0]


def test_romanisation_is_letter_by_letter():
    assert hangul.romanize("눈물") == "nunmul"
    assert hangul.romanize("행복하다 love!") == "haengbokhada love!"
    assert hangul.romanize("옷 안") == "ot an"  # a final as said alone, no sound change (said: "osan")


# --- the shipped Hangul font ----------------------------------------------------------

def test_shipped_font_is_registered_by_path_without_touching_the_defaults():
    defaults = (list(matplotlib.rcParams["font.family"]), matplotlib.rcParams["axes.unicode_minus"])
    assert plotting.hangul_font() == {"fontfamily": ["NanumGothic", "sans-serif"]}
    path = font_manager.findfont(font_manager.FontProperties(family="NanumGothic"), fallback_to_default=False)
    assert path.endswith("koreanize_matplotlib/fonts/NanumGothic.ttf")
    assert all(ord(c) in FT2Font(path).get_charmap() for c in "가힣눈물행복")
    assert "koreanize_matplotlib" not in sys.modules  # importing it would make NanumGothic every figure's font
    assert (list(matplotlib.rcParams["font.family"]), matplotlib.rcParams["axes.unicode_minus"]) == defaults


def test_hangul_renders_in_the_hangul_font_and_not_in_the_default_one():
    assert missing_glyph_warnings("슬픈 눈물", **plotting.hangul_font()) == []
    assert missing_glyph_warnings("슬픈 눈물")  # the default font has no Hangul: the check can fail


def test_class_words_are_drawn_in_hangul():
    fig = lyrics_figures.plot_class_words(WORDS_TABLE)
    assert tick_labels(fig) == ["joy", "rain", "sun", "눈물"]
    assert not any("romanised" in t.get_text() for t in fig.texts)


# --- fallback: romanisation -------------------------------------------------------------

@pytest.mark.parametrize("broken", ["package missing", "font unreadable"])
def test_without_a_loadable_font_korean_is_romanised(monkeypatch, tmp_path, broken):
    monkeypatch.setattr(plotting, "HANGUL_FONTS", ("No Such Hangul Font",))
    if broken == "package missing":
        monkeypatch.setattr(plotting, "FONT_PACKAGE", "no_such_font_package")
    else:
        bad = tmp_path / "NanumGothic.ttf"
        bad.write_bytes(b"not a font")
        monkeypatch.setattr(plotting, "FONT_FILE", str(bad))  # absolute: replaces the package's folder
    assert plotting.hangul_font() is None
    assert plotting.drawable("별빛소년 - 슬픈 눈물") == "byeolbitsonyeon - seulpeun nunmul"
    assert plotting.drawable("Luna Park - Golden Sunshine") == "Luna Park - Golden Sunshine"
    fig = lyrics_figures.plot_class_words(WORDS_TABLE)
    assert tick_labels(fig) == ["joy", "nunmul*", "rain", "sun"]
    assert any("romanised" in t.get_text() for t in fig.texts)


def test_an_installed_hangul_font_is_used_when_the_shipped_one_cannot_load(monkeypatch, no_hangul_font):
    assert plotting.hangul_font() is None
    monkeypatch.setattr(plotting, "HANGUL_FONTS", ("No Such Hangul Font", "DejaVu Sans"))  # stands in
    plotting.hangul_font_name.cache_clear()
    assert plotting.hangul_font() == {"fontfamily": ["DejaVu Sans", "sans-serif"]}


# --- class colours and units ------------------------------------------------------------

class FakeStore:
    """The two things plot_examples reads from a MelStore."""

    shape = (16, 40)

    def get(self, track_id):
        return np.full(self.shape, -20.0 if track_id.startswith("p") else -40.0, dtype=np.float16)


def test_spectrogram_examples_have_time_in_seconds_and_class_coloured_titles(no_hangul_font):
    examples = {"negative": ["n1"], "positive": ["p1", "p2"]}
    fig = mel_figures.plot_examples(FakeStore(), examples, sample_rate=16000, clip_seconds=2.0,
                                    titles={"n1": "별빛소년 - 슬픈 눈물"})
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert {ax.get_xlabel() for ax in panels if ax.get_xlabel()} == {"time (s)"}
    assert panels[0].get_title() == "negative: byeolbitsonyeon - seulpeun nunmul"
    colours = {ax.get_title().split(":")[0]: ax.title.get_color() for ax in panels}
    assert {label: to_rgba(c) for label, c in colours.items()} == \
        {label: to_rgba(c) for label, c in plotting.CLASS_COLORS.items()}


def test_class_spectra_and_words_use_the_class_colours():
    spectra = pd.DataFrame({"negative": np.linspace(-40, -60, 16), "positive": np.linspace(-30, -50, 16)})
    lines = mel_figures.plot_class_spectra(spectra, sample_rate=16000).axes[0].get_lines()
    assert {line.get_label(): to_rgba(line.get_color()) for line in lines} == \
        {label: to_rgba(c) for label, c in plotting.CLASS_COLORS.items()}
    fig = lyrics_figures.plot_class_words(WORDS_TABLE)
    bars = {ax.get_title(): to_rgba(ax.patches[0].get_facecolor()) for ax in fig.axes}
    assert bars == {f"Words of {label} tracks": to_rgba(c) for label, c in plotting.CLASS_COLORS.items()}


def test_class_spectra_difference_label_fits_beside_its_own_panel():
    spectra = pd.DataFrame({"negative": np.linspace(-20, -90, 128), "positive": np.linspace(-18, -88, 128)})
    fig = mel_figures.plot_class_spectra(spectra, sample_rate=22050)
    fig.canvas.draw()
    upper, lower = fig.axes
    label, panel = lower.yaxis.label.get_window_extent(), lower.get_window_extent()
    assert label.y0 >= panel.y0 and label.y1 <= panel.y1, "the label is no taller than its panel"
    assert lower.yaxis.label.get_position()[0] == pytest.approx(upper.yaxis.label.get_position()[0])


def test_class_spectra_of_more_than_two_classes_draw_the_means_alone():
    """No difference panel under a two-class title: one line per class, in the classes' own colours."""
    spectra = pd.DataFrame({f"Q{k}": np.linspace(-40 + k, -60 + k, 16) for k in range(1, 5)})
    fig = mel_figures.plot_class_spectra(spectra, sample_rate=16000)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["Q1", "Q2", "Q3", "Q4"]
    assert ax.get_xlabel() == "mel band centre (Hz)"
    two = mel_figures.plot_class_spectra(spectra[["Q2", "Q1"]], sample_rate=16000)
    assert two.axes[1].get_title(loc="left") == "Q1 minus Q2"
