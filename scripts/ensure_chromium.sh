#!/bin/sh
# The browser tests drive Debian's Chromium with Playwright: install the package when it is missing.
# Never a downloaded browser (no `playwright install`).
set -e
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "error: /usr/bin/chromium is missing and this user cannot install it." >&2
    echo "Run as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi
echo "installing Debian's chromium for the browser tests (about a minute)..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
