#!/usr/bin/env bash
# A stand-in for python:3.11-slim-bookworm on machines that cannot pull from Docker Hub: Debian
# bookworm's own Python 3.11 in a debootstrap root, built from Debian's archive and imported under
# the official image's name. It does nothing when an image of that name is already present, so on
# a machine that can pull (every real self-hoster's) the official image is the one used.
#   scripts/base-image.sh            ENGINE=docker|podman (default: docker if an engine answers)
# Needs root and debootstrap. The Dockerfile works on both: it makes its own venv at /opt/venv, as
# Debian's python3 is "externally managed" (PEP 668) and lives in /usr/bin, not /usr/local/bin.
set -euo pipefail

IMAGE=python:3.11-slim-bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [[ -z "${ENGINE:-}" ]]; then
    if docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi

# podman names it docker.io/library/python:3.11-slim-bookworm, the name a FROM line resolves to.
if "$ENGINE" image inspect "docker.io/library/$IMAGE" >/dev/null 2>&1 \
    || "$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "$IMAGE is present: using it"
    exit 0
fi

root=$(mktemp -d /var/tmp/storybot-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "building a stand-in for $IMAGE from $MIRROR (a few minutes)"
# minbase: the required packages and apt, nothing else; debootstrap installs no Recommends.
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
rm -f "$root.log"
# What the slim image leaves out too: package lists, caches, documentation.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
# The official image's environment and default command; the official one also has `python`.
tar -C "$root" -c . | "$ENGINE" import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "stand-in for $IMAGE: Debian bookworm's python3 (scripts/base-image.sh)" \
    - "docker.io/library/$IMAGE"
"$ENGINE" image inspect --format '{{.Id}} {{.Size}}' "docker.io/library/$IMAGE"
