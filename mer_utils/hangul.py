"""Hangul syllable arithmetic: split a syllable into its letters, and romanise words.

A precomposed Hangul syllable (U+AC00 "가" to U+D7A3 "힣") encodes its
initial consonant, vowel and optional final consonant by arithmetic:
``code = 0xAC00 + (initial * 21 + vowel) * 28 + final``.
"""

#: The first precomposed syllable ("가") and how many there are.
FIRST_SYLLABLE = 0xAC00
N_SYLLABLES = 11172
#: Number of vowels and of final consonants (the first, index 0, is "none").
N_VOWELS = 21
N_FINALS = 28
#: Index of the final consonant ㄹ (which takes the particle 로, not 으로).
FINAL_RIEUL = 8

#: Revised Romanization letters of the initials, vowels and finals, in index order.
INITIAL_LETTERS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p",
                   "h")
VOWEL_LETTERS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we",
                 "wi", "yu", "eu", "ui", "i")
FINAL_LETTERS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t",
                 "t", "ng", "t", "t", "k", "t", "p", "t")


def decompose(char):
    """``(initial, vowel, final)`` letter indices of a Hangul syllable, or ``None`` for any other character.

    ``final`` is 0 when the syllable has no final consonant: ``decompose("길") == (0, 20, 8)``.
    """
    code = ord(char) - FIRST_SYLLABLE
    if not 0 <= code < N_SYLLABLES:
        return None
    return code // (N_VOWELS * N_FINALS), code // N_FINALS % N_VOWELS, code % N_FINALS


def compose(initial, vowel, final=0):
    """The syllable of these letter indices (the inverse of :func:`decompose`)."""
    return chr(FIRST_SYLLABLE + (initial * N_VOWELS + vowel) * N_FINALS + final)


def final_consonant(char):
    """Index of the final consonant of a Hangul syllable; 0 when it has none or is not a syllable."""
    letters = decompose(char)
    return letters[2] if letters else 0


def romanize(text):
    """Letter-by-letter romanisation of the Hangul syllables in ``text`` (Revised Romanization letters,
    no sound changes): ``romanize("눈물") == "nunmul"``; other characters are kept."""
    out = []
    for char in text:
        letters = decompose(char)
        if letters is None:
            out.append(char)
        else:
            initial, vowel, final = letters
            out.append(INITIAL_LETTERS[initial] + VOWEL_LETTERS[vowel] + FINAL_LETTERS[final])
    return "".join(out)
