"""The headline figures of every trained version over time, drawn for runs/index.html.

An inline PNG (a data URI), so the page stays one self-contained file that the reports service's policy
(``img-src data:``) shows. matplotlib loads only when the page is drawn, never when ``studyrec runs``
imports the index; pyplot is not used, so no global backend changes under a notebook's kernel.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

# (task, column of registry.list_versions, the axis's words, the panel's title)
PANELS = (
    ("regression", "cv_rmse", "CV RMSE (lower is better)", "Typical error of the final mark"),
    ("classification", "cv_f1_weighted", "CV weighted F1 (higher is better)", "Grade agreement"),
)
ACTIVE_COLOUR, LINE_COLOUR = "#c0392b", "#2c6fbb"


def _panel(axes: Axes, rows: pd.DataFrame, column: str, ylabel: str, title: str) -> None:
    """One task's figure per version by creation time, the active version starred and named."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    rows = rows.dropna(subset=[column]).sort_values("created_at")
    axes.plot(rows["created_at"].to_numpy(), rows[column].to_numpy(), marker="o", color=LINE_COLOUR,
              label="trained version")
    for version in rows[rows["active"]].itertuples():
        words = "active, pinned" if version.pinned else "active"
        axes.plot([version.created_at], [getattr(version, column)], linestyle="none", marker="*", markersize=16,
                  color=ACTIVE_COLOUR, label=f"{words}: {version.version}")
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set(title=title, xlabel="version created (UTC)", ylabel=ylabel)
    axes.margins(x=0.08, y=0.15)  # the star of the newest version is not cut by the frame
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")


def _png(versions: pd.DataFrame) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.6), dpi=100, layout="constrained")
    for axes, (task, column, ylabel, title) in zip(figure.subplots(1, 2), PANELS, strict=True):
        _panel(axes, versions[versions["task"] == task], column, ylabel, title)
    figure.suptitle("Headline figures of every trained version, by when it was created")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def versions_plot(versions: pd.DataFrame) -> str:
    """The plot as an <img> for the page, or a sentence saying why there is none (fewer than 2 versions).

    Args:
        versions: ``registry.list_versions``: task, version, created_at, cv_rmse, cv_f1_weighted, active, pinned.

    Returns:
        HTML: an <img> whose source is a PNG data URI, or a <p>.
    """
    count = versions["version"].nunique()
    if count < 2:
        return (f"<p class='no-plot'>No plot of the models over time yet: it needs at least two trained versions, "
                f"and there {'is' if count == 1 else 'are'} {count}.</p>")
    alt = f"CV RMSE and CV weighted F1 of {count} trained versions by creation time; the active version is starred"
    data = base64.b64encode(_png(versions)).decode("ascii")
    return f"<img class='plot' alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"
