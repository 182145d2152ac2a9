"""What the figures share: Hangul syllable arithmetic (romanisation)."""

from mer_utils import hangul


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
