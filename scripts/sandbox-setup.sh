#!/usr/bin/env bash
# Makes a Docker engine available for the sandbox tier (issue 3) on a machine of the project's kind
# (Debian 12, root, the Docker client only): installs Debian's engine, debootstrap (to build the
# sandbox image without a registry), bubblewrap (the local fallback's isolation) and openssh-server
# (for the ssh:// remote-engine test; it is not started here) when missing,
# starts dockerd when nothing answers, and waits until it does.
#
# Idempotent and unattended. Usage: scripts/sandbox-setup.sh   (as root, or with sudo)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
exec </dev/null

T0=$(date +%s)
log() { printf '[sandbox-setup %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '[sandbox-setup] FAILED: %s\n' "$*" >&2; exit 1; }
SUDO=""
if [ "$(id -u)" != 0 ]; then command -v sudo >/dev/null || die "run as root (or install sudo)"; SUDO="sudo -n"; fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v bwrap >/dev/null || missing+=(bubblewrap)
# sshd: the Docker backend's test of an engine reached over DOCKER_HOST=ssh:// runs its own.
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  log "a Docker engine answers: $(docker info --format '{{.ServerVersion}}')"
  exit 0
fi
log "starting dockerd (log: /tmp/dockerd.log)"
# setsid: the engine outlives this script and is not killed with its process group.
$SUDO setsid dockerd >/tmp/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up: $(docker info --format '{{.ServerVersion}}')"
    exit 0
  fi
  sleep 0.5
done
tail -20 /tmp/dockerd.log >&2 || true
die "dockerd did not answer within 60 s"
