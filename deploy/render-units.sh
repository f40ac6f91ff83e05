#!/usr/bin/env bash
# Renders deploy/systemd/*.service for this checkout into deploy/systemd/rendered/.
# ENV (default staging) and RUN_AS (default: current user) pick the environment and user.
set -euo pipefail
cd "$(dirname "$0")/.."
env_name=${ENV:-staging}
user=${RUN_AS:-$(id -un)}
out=deploy/systemd/rendered
mkdir -p "$out"
for unit in deploy/systemd/*.service; do
  name=$(basename "$unit" .service)
  sed -e "s|@WORKDIR@|$PWD|g" -e "s|@ENV@|$env_name|g" -e "s|@USER@|$user|g" "$unit" > "$out/${name/splashtail-/splashtail-$env_name-}.service"
done
echo "rendered $(ls "$out" | wc -l) units into $out"
