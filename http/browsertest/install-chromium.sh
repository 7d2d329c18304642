#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (http/browsertest) when it is missing.
# Used by `make chromium` (and so by `make test`); needs root or sudo. Without either it says
# so and exits 0: the browser tests then skip with a message of their own.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "chromium is not installed and installing it needs root: the browser tests will skip" >&2
	exit 0
fi
echo "installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
