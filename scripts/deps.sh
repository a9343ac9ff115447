#!/usr/bin/env bash
# scripts/deps.sh [LIST...]: make sure the Debian packages named in LIST (default
# scripts/deps.txt; one per line, '#' comments) are installed. As root, missing packages are
# installed with apt-get; otherwise the command to run is printed and the exit status is 1.
# The package lists are refreshed only when they are missing or older than a day, or when the
# first install attempt fails.
set -euo pipefail
cd "$(dirname "$0")/.."

lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=(scripts/deps.txt)

missing=()
for list in "${lists[@]}"; do
    while read -r pkg; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        # "install ok installed" or "hold ok installed"; not "half-installed", "config-files".
        [[ $status == *" ok installed" ]] || missing+=("$pkg")
    done < <(sed -e 's/#.*//' "$list" | tr -s ' \t' '\n\n' | grep -v '^$')
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "corio: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
lists_fresh() {
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -type f -name '*_Packages*' -mmin -1440 \
        -print -quit 2>/dev/null)" ]
}
install() {
    apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null
}

echo "corio: installing ${missing[*]}" >&2
lists_fresh || apt-get "${apt_opts[@]}" update </dev/null
if ! install; then
    apt-get "${apt_opts[@]}" update </dev/null
    install
fi
