"""Console: the teachers' page (``apps/teacher_console.ipynb``, served for the hub's ``teachers`` group).

Upload a results file and see what was loaded and rejected, the uploads' history (and withdraw a mistaken
one), train in the background, the current at-risk list with downloads, the model versions, and the run
reports. Every action is the library's own (the same ingest and training jobs as the CLI, in ``runs``), so
the console sits above ``runs`` in the import order, beside the CLI. Loaded on first use (``core.lazy``).
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from studyrec_lib.console.app import TeacherConsole, build_console

__getattr__ = lazy_attributes(__name__)

__all__ = ["TeacherConsole", "build_console"]
