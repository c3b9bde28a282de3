"""Voila's configuration for the teacher console as a hub service (read from this folder, the service's cwd).

The command line comes from ``studyrec_lib.web.app_server.voila_command``; what needs Python objects is here.
"""

from studyrec_lib.console.upload import WEBSOCKET_MESSAGE_BYTES
from studyrec_lib.web.hub_identity import HubIdentityProvider, teacher_prelaunch_hook
from studyrec_lib.web.kernel_limits import BoundedKernelManager

TEACHER_KERNELS = 40  # a console kernel holds pandas, DuckDB and the models (~300 MB): a school's teachers at once

c = get_config()  # noqa: F821 (defined by Voila's config loader)
c.Voila.identity_provider_class = HubIdentityProvider
c.VoilaConfiguration.prelaunch_hook = teacher_prelaunch_hook  # the signed-in teacher, written in by the server
c.VoilaConfiguration.file_allowlist = []  # /voila/files/ is not authenticated: serve no file at all
c.VoilaConfiguration.multi_kernel_manager_class = BoundedKernelManager
c.BoundedKernelManager.max_kernels = TEACHER_KERNELS
c.Voila.tornado_settings = {"websocket_max_message_size": WEBSOCKET_MESSAGE_BYTES}  # a picked file is one message
