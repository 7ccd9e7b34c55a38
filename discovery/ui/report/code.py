"""Objective code as HTML: highlighted by pygments, and compared with difflib.

Everything returned here is markup that is safe to inline: pygments and difflib escape the code
they format, and the labels this module adds are escaped by it.
"""

from difflib import HtmlDiff, unified_diff
from html import escape

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, PythonLexer

CODE = HtmlFormatter(cssclass="code", linenos="inline", wrapcode=True)
DIFF = HtmlFormatter(cssclass="code", wrapcode=True)
SIDE_BY_SIDE_COLUMNS = 64  # characters per side before a line wraps


def code_html(source: str) -> Markup:
    return Markup(highlight(source, PythonLexer(), CODE))


def diff_html(old: str, new: str, old_label: str, new_label: str) -> Markup | None:
    """A unified diff from `old` to `new`, highlighted; None when the code is the same."""
    lines = list(unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""))
    if not lines:
        return None
    return Markup(highlight("\n".join(lines) + "\n", DiffLexer(), DIFF))


def side_by_side(old: str, new: str, old_label: str, new_label: str) -> Markup:
    """The two sources in two columns, changed lines marked (difflib's table; its labels are not escaped
    by difflib, so they are here)."""
    table = HtmlDiff(wrapcolumn=SIDE_BY_SIDE_COLUMNS).make_table(
        old.splitlines(), new.splitlines(), escape(old_label), escape(new_label)
    )
    return Markup(table)


def code_css() -> str:
    """The highlighting colours, for the page's style sheet."""
    return CODE.get_style_defs(".code")
