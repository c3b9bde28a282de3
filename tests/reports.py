"""What every reviewer's HTML report must not show, and where its summary is: shared by the tests of real runs."""

import re
from html import unescape

# Markers of elements (not of the CSS, which names every class): code cells' source, prompts, parameter cells.
CODE_MARKERS = ('class="highlight hl-ipython3"', 'class="jp-InputPrompt', 'class="jp-OutputPrompt',
                "celltag_parameters", "celltag_injected-parameters")
NOISE = ('data-mime-type="application/vnd.jupyter.stderr"', "TCP without encryption", "Traceback",
         "An Exception was encountered")
SUMMARY_MARKER = "celltag_summary"
CODE_CELL = 'class="jp-Cell jp-CodeCell'  # every code cell's div: the first must be the summary's


def assert_reviewer_html(html: str) -> None:
    """No code, no prompts, no parameter cells, no logs or tracebacks; the summary is the first code cell's output."""
    for absent in (*CODE_MARKERS, *NOISE):
        assert absent not in html, absent
    first = html.index(CODE_CELL)  # the first code cell's opening tag carries the summary's tag
    assert SUMMARY_MARKER in html[first:html.index(">", first)]


def visible_text(html: str) -> str:
    """The page's text as a reader sees it (inline tags gone, blocks apart, unescaped, spaces collapsed)."""
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html.split("<body", 1)[-1].split(">", 1)[-1], flags=re.S)
    body = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", body)  # the headings' "¶" links
    inline = re.sub(r"</?(strong|em|code|a|span)\b[^>]*>", "", body)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())
