"""`discover report`: a run, or two candidates side by side, as one self-contained HTML page.

`page` assembles the pages, `plots` draws their figures (matplotlib, imported only here, so that
no other command pays for it), `code` formats code and diffs, `output` writes the file. The data
behind the figures comes from `discovery.ui.figures`, shared with the terminal views.
"""
