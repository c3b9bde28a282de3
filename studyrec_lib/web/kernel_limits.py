"""A cap on the student app's kernels: past it a new page is told to come back, the machine keeps its memory.

Each open page of the hub's student app holds a kernel (about 55 MB) until it is closed and culled; nothing in
Voila bounds how many. The app server uses this manager (``deploy/student_app/voila.py``), with
``STUDYREC_APP_MAX_KERNELS`` (default 200, about 11 GB of kernels) as the bound. Kernels still starting count
too: a burst of pages must not all pass the check before the first kernel is up.
"""

from __future__ import annotations

import os

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError
from traitlets import Integer

ENV_MAX_KERNELS = "STUDYREC_APP_MAX_KERNELS"
DEFAULT_MAX_KERNELS = 200
FULL = "The app is busy: too many pages are open. Please try again in a minute."


def max_kernels_from_env() -> int:
    return int(os.environ.get(ENV_MAX_KERNELS) or DEFAULT_MAX_KERNELS)


class BoundedKernelManager(AsyncMappingKernelManager):
    """Voila's kernel manager with a bound; Voila still sets which messages a kernel accepts (no execute)."""

    max_kernels = Integer(DEFAULT_MAX_KERNELS, config=True, help="kernels at once; past it, 503 for new pages")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._starting = 0

    async def start_kernel(self, *args: object, **kwargs: object) -> str:
        # checked and counted before the first await: the event loop runs no other start in between
        if len(self.list_kernel_ids()) + self._starting >= self.max_kernels:
            self.log.warning("student app: %d kernels running or starting, a new page is refused", self.max_kernels)
            raise HTTPError(503, FULL)
        self._starting += 1
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1
