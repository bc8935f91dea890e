#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the report's browser test (tests/test_report_browser.py):
# Debian's `chromium` and `chromium-driver`, installed with apt when missing (needs root).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    # not fatal: only the browser test needs them, and it says how to get them
    echo "install_chromium.sh: /usr/bin/chromium or /usr/bin/chromedriver is missing and this is" \
         "not root; the report's browser test will fail until: sudo apt-get install chromium chromium-driver" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium chromium-driver
