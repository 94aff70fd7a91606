"""The local console: a web page the local cloud serves at `{fcEndpoint}/_localcloud/console/`
for a developer watching their backend — endpoints and instances, sandbox users, Tablestore rows,
log records, invocations, faults, the local ROS's stacks, and the whole local state exported,
imported or reset.

`api` answers the page's JSON calls from the emulators' state (never through their wire
protocols: the console is the cloud's own view, like the cloud vendor's web console); `state`
moves the whole local state to and from a file; `stacks` shapes the ROS stacks for the page
(NoEcho parameters hidden); `static/` is the page itself (plain HTML and one
vendored ES module, preact + htm: no build step, works offline). Nothing here shows a secret:
no key secret, STS secret or token, no session id (only the hash the session table keys on),
no binary cell (the encrypted Alipay tokens).
"""

from __future__ import annotations

from .api import CONSOLE_PATH, ConsoleApp

__all__ = ["CONSOLE_PATH", "ConsoleApp"]
