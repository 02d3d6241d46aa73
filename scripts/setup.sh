#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine to run taskgraph's docker tests and pipeline:
#   1. installs the Debian packages the pipeline and its tests use (only those missing),
#   2. starts a Docker engine, unless one already answers (a user's running Docker is left alone),
#   3. makes debian:bookworm-slim from Debian's own packages when it is missing, because
#      machines like CI sandboxes cannot reach Docker Hub.
# Safe to run again: each step checks before it acts. Needs root (or sudo) for steps 1-2.
set -euo pipefail

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(docker.io containerd runc iptables docker-registry debootstrap apache2-utils)
base_image=debian:bookworm-slim
rootfs=''
logdir=${TMPDIR:-/tmp}
dockerd_log="$logdir/taskgraph-dockerd.log"
dockerd_timeout=${DOCKERD_TIMEOUT:-60}

install_packages() {
  local missing=() pkg
  for pkg in "${packages[@]}"; do
    # dpkg-query exits 0 for removed-but-configured packages too, so check the status string.
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "packages: all present (${packages[*]})"
    return
  fi
  log "packages: installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

docker_answers() { docker info >/dev/null 2>&1; }

# A running daemon that this user may not talk to must not get a second dockerd next to it.
check_socket_permission() {
  local out
  out=$(docker info 2>&1 >/dev/null || true)
  case "$out" in
    *"permission denied"*)
      die "Docker is running but this user cannot use it: add yourself to the docker group (sudo usermod -aG docker \$USER) and log in again" ;;
  esac
}

start_dockerd() {
  if docker_answers; then
    log "docker: already running, left as is"
    return
  fi
  check_socket_permission
  mkdir -p "$logdir"
  log "docker: starting dockerd (log: $dockerd_log)"
  # These flags are a sandbox workaround (no bridge or iptables in the VM): containers get loopback
  # only, or the host's network with --network host. `setsid -f` forks dockerd into its own
  # session, so it outlives this script and ignores a Ctrl-C or hangup in the caller's terminal.
  as_root setsid -f dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    </dev/null >"$dockerd_log" 2>&1
  local waited=0
  until docker_answers; do
    if [ "$waited" -ge "$dockerd_timeout" ]; then
      printf 'setup: error: dockerd did not answer `docker info` within %ss. Last lines of %s:\n' \
        "$dockerd_timeout" "$dockerd_log" >&2
      tail -n 30 "$dockerd_log" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "docker: running after ${waited}s"
}

# First URI of apt's configured Debian archive: deb822 sources first, then the one-line format.
# Empty on other distributions: an Ubuntu mirror cannot debootstrap Debian.
debian_mirror() {
  local mirror=''
  grep -qx 'ID=debian' /etc/os-release 2>/dev/null || return 0
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ {
      for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit }
    }' /etc/apt/sources.list)
  fi
  printf '%s' "$mirror"
}

seed_base_image() {
  if docker image inspect "$base_image" >/dev/null 2>&1; then
    log "image: $base_image present, not seeded"
    return
  fi
  local mirror started
  mirror=$(debian_mirror)
  if [ -z "$mirror" ]; then
    log "image: $base_image missing and no Debian mirror configured; pulling it"
    docker pull "$base_image" || die "could not pull $base_image: pull it from a reachable registry, or run this script on Debian to build it from Debian's packages"
    return
  fi
  # Global, not local: the EXIT trap runs after this function has returned.
  rootfs=$(mktemp -d "$logdir/taskgraph-rootfs.XXXXXX")
  # The rootfs is a few hundred MB; remove it however the script ends.
  trap 'as_root rm -rf "$rootfs"' EXIT
  started=$SECONDS
  log "image: $base_image missing, building it with debootstrap from $mirror"
  as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$logdir/taskgraph-debootstrap.log" 2>&1 \
    || { tail -n 30 "$logdir/taskgraph-debootstrap.log" >&2; die "debootstrap failed (log: $logdir/taskgraph-debootstrap.log)"; }
  as_root tar -C "$rootfs" -c . | docker import - "$base_image" >/dev/null
  log "image: $base_image imported in $((SECONDS - started))s"
}

install_packages
start_dockerd
seed_base_image
log "done: $(docker version --format 'docker server {{.Server.Version}}, client {{.Client.Version}}')"
