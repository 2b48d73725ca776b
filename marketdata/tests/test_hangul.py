"""Initial consonants of Korean names (초성), for the symbol search."""

from hypothesis import given
from hypothesis import strategies as st

from marketdata.hangul import INITIALS, initials, is_initials_query


def test_hand_checked_names():
    assert initials("삼성전자") == "ㅅㅅㅈㅈ"
    assert initials("SK하이닉스") == "skㅎㅇㄴㅅ"
    assert initials("LG에너지솔루션") == "lgㅇㄴㅈㅅㄹㅅ"
    assert initials("까치 뜰") == "ㄲㅊ ㄸ"
    assert initials("가") == "ㄱ" and initials("힣") == "ㅎ"  # the first and last syllables


@given(st.text())
def test_same_length_and_only_syllables_change(text):
    out = initials(text)
    assert len(out) == len(text)
    for before, after in zip(text, out, strict=True):
        if "가" <= before <= "힣":
            assert after in INITIALS
        else:
            assert after == before.lower()


def test_what_counts_as_an_initials_query():
    assert is_initials_query("ㅅㅅㅈㅈ") and is_initials_query("skㅎ")
    assert not is_initials_query("삼성") and not is_initials_query("삼ㅅ")
    assert not is_initials_query("005930")
