"""Stored text from outside is shown with its control characters made visible and inert."""

import pytest

from discovery.untrusted import has_unsafe, visible


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # a title change
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # an OSC 52 clipboard write
        ("\x9b2J", "\\x9b2J"),  # the 8-bit CSI clears the screen
        ("\x9d8;;http://x\x9c", "\\x9d8;;http://x\\x9c"),  # an 8-bit OSC 8 link
        ("abc\u202edcba", "abc\\u202edcba"),  # a bidi override
        ("\ud800", "\\ud800"),  # a lone surrogate
        ("del\x7f", "del\\x7f"),
        ("line\u2028break", "line\\u2028break"),
    ],
)
def test_control_characters_become_their_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert has_unsafe(raw)
    shown.encode("utf-8")  # whatever arrived, what is shown can be written


def test_ordinary_text_newlines_and_tabs_are_kept() -> None:
    text = "DPO, but hinged — ünïcode 漢字 🙂\n\tindented"
    assert visible(text) == text
    assert not has_unsafe(text)
    assert visible(text, one_line=True) == "DPO, but hinged — ünïcode 漢字 🙂\\x0a\\x09indented"
