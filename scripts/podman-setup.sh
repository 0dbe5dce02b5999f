#!/usr/bin/env bash
# Podman on a machine without systemd as PID 1 (CI containers, WSL, minimal hosts): installs Debian's
# podman, the tools the container tests use, and a containers.conf that does not ask systemd for
# anything. Idempotent; run as root. `.ci/run` calls it before `make image`.
set -euo pipefail

packages=(podman runc catatonit uidmap fuse-overlayfs slirp4netns netavark aardvark-dns iptables debootstrap docker-compose)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Only where systemd does not run the machine: there, podman's defaults (systemd cgroups, journald
# events, healthcheck timers) are right and this file would take them away.
conf=/etc/containers/containers.conf
if [[ "$(cat /proc/1/comm)" != systemd && ! -e "$conf" ]]; then
    mkdir -p /etc/containers
    nofile=$(ulimit -Hn)
    nproc=$(ulimit -Hu)
    [[ "$nproc" == unlimited || "$nproc" -gt 32768 ]] && nproc=32768
    [[ "$nofile" == unlimited || "$nofile" -gt 1048576 ]] && nofile=1048576
    cat >"$conf" <<CONF
# Written by storybot's scripts/podman-setup.sh: this machine has no systemd as PID 1.
[engine]
# No systemd to create cgroups or receive events through.
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"

[containers]
# Podman asks for more open files and processes than a process without CAP_SYS_RESOURCE may have
# (nofile 1048576): the container's init then fails with "error setting rlimit type 7: operation
# not permitted". These are this machine's own hard limits (nproc capped where runc accepted it).
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
CONF
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Store.GraphDriverName}}'
