"""The student app's kernel cap, with real kernels: past it a new page is refused, never a machine out of memory."""

from __future__ import annotations

import asyncio

import pytest
from tornado.web import HTTPError
from traitlets.config import Config, PyFileConfigLoader

from studyrec_lib.core.config import PROJECT_ROOT
from studyrec_lib.web.kernel_limits import FULL, BoundedKernelManager

pytestmark = pytest.mark.timeout(120)


def test_past_the_cap_a_new_kernel_is_refused_until_one_ends(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))

    async def scenario() -> None:
        manager = BoundedKernelManager(max_kernels=1, connection_dir=str(tmp_path))
        first = await manager.start_kernel()
        try:
            with pytest.raises(HTTPError) as refused:
                await manager.start_kernel()
            assert refused.value.status_code == 503 and refused.value.log_message == FULL
            assert manager.list_kernel_ids() == [first]
            await manager.shutdown_kernel(first, now=True)
            second = await manager.start_kernel()
            assert manager.list_kernel_ids() == [second]
        finally:
            await manager.shutdown_all(now=True)

    asyncio.run(scenario())


def test_a_burst_of_pages_cannot_pass_the_cap_while_kernels_start(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))

    async def scenario() -> list:
        manager = BoundedKernelManager(max_kernels=2, connection_dir=str(tmp_path))
        try:
            return await asyncio.gather(*(manager.start_kernel() for _ in range(4)), return_exceptions=True)
        finally:
            await manager.shutdown_all(now=True)

    outcomes = asyncio.run(scenario())
    assert sum(isinstance(o, str) for o in outcomes) == 2
    assert sum(isinstance(o, HTTPError) and o.status_code == 503 for o in outcomes) == 2


def test_the_hub_services_voila_uses_the_cap_from_the_environment(monkeypatch):
    monkeypatch.setenv("STUDYREC_APP_MAX_KERNELS", "7")
    loader = PyFileConfigLoader("voila.py", path=str(PROJECT_ROOT / "deploy" / "student_app"))
    config: Config = loader.load_config()
    assert config.VoilaConfiguration.multi_kernel_manager_class is BoundedKernelManager
    assert config.BoundedKernelManager.max_kernels == 7
