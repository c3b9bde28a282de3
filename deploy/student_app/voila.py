"""Voila's configuration for the student app as a hub service (read from this folder, the service's cwd).

The command line comes from ``studyrec_lib.web.app_server.voila_command``; what needs Python objects is here.
"""

from studyrec_lib.web.hub_identity import HubIdentityProvider, prelaunch_hook
from studyrec_lib.web.kernel_limits import BoundedKernelManager, max_kernels_from_env

c = get_config()  # noqa: F821 (defined by Voila's config loader)
c.Voila.identity_provider_class = HubIdentityProvider
c.VoilaConfiguration.prelaunch_hook = prelaunch_hook  # the hook needs a fresh kernel per page: no preheating
c.VoilaConfiguration.file_allowlist = []  # /voila/files/ is not authenticated: serve no file at all
c.VoilaConfiguration.multi_kernel_manager_class = BoundedKernelManager  # at most this many kernels at once:
c.BoundedKernelManager.max_kernels = max_kernels_from_env()
