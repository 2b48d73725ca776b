"""Initial consonants (초성) of Korean text, for searching stock names the way Korean traders
type them: ㅅㅅㅈㅈ finds 삼성전자. Pure: no Django.

A precomposed Hangul syllable (U+AC00–U+D7A3) is (initial × 21 + medial) × 28 + final past
U+AC00; its initial is written as the compatibility jamo a keyboard types (ㄱ U+3131 …).
Anything else is kept, lower-cased (SK하이닉스 → skㅎㅇㄴㅅ).
"""

SYLLABLE_FIRST, SYLLABLE_LAST = 0xAC00, 0xD7A3
SYLLABLES_PER_INITIAL = 21 * 28
INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"


def initials(text: str) -> str:
    """`text` with every Hangul syllable replaced by its initial consonant (same length)."""
    out = []
    for char in text:
        code = ord(char)
        if SYLLABLE_FIRST <= code <= SYLLABLE_LAST:
            out.append(INITIALS[(code - SYLLABLE_FIRST) // SYLLABLES_PER_INITIAL])
        else:
            out.append(char.lower())
    return "".join(out)


def is_initials_query(text: str) -> bool:
    """True when `text` holds an initial consonant and no complete syllable: a 초성 search."""
    return any(c in INITIALS for c in text) and not any(
        SYLLABLE_FIRST <= ord(c) <= SYLLABLE_LAST for c in text
    )
