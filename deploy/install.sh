#!/usr/bin/env bash
# `make install`: the binary, one systemd unit per service, /etc/splashtail/{config.yaml,splashtail.env}
# (kept when present) and the `splashtail` user. With DESTDIR (a package's staging root) nothing
# on this host changes: the user comes from a sysusers.d file, the config's ownership from a
# tmpfiles.d file, both applied by systemd on the target.
set -euo pipefail
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
USER_NAME=splashtail
bindir=$PREFIX/bin
confdir=$SYSCONFDIR/splashtail

[ -x splashtail ] || { echo "install: ./splashtail is not built; run make build first" >&2; exit 1; }

render() { # template, destination, mode
  install -d "$(dirname "$2")"
  sed -e "s|@BINDIR@|$bindir|g" -e "s|@CONFDIR@|$confdir|g" -e "s|@USER@|$USER_NAME|g" "$1" > "$2"
  chmod "$3" "$2"
}

install -D -m 755 splashtail "$DESTDIR$bindir/splashtail"
for unit in deploy/systemd/*.service; do render "$unit" "$DESTDIR$UNITDIR/$(basename "$unit")" 644; done
install -d -m 750 "$DESTDIR$confdir"
# An operator's config and environment are never overwritten.
[ -e "$DESTDIR$confdir/config.yaml" ] || install -m 640 config.yaml.example "$DESTDIR$confdir/config.yaml"
[ -e "$DESTDIR$confdir/splashtail.env" ] || install -m 640 deploy/splashtail.env "$DESTDIR$confdir/splashtail.env"

if [ -n "$DESTDIR" ]; then
  render deploy/sysusers.d/splashtail.conf "$DESTDIR/usr/lib/sysusers.d/splashtail.conf" 644
  render deploy/tmpfiles.d/splashtail.conf "$DESTDIR/usr/lib/tmpfiles.d/splashtail.conf" 644
  echo "installed into $DESTDIR (user $USER_NAME from usr/lib/sysusers.d/splashtail.conf)"
  exit 0
fi

if ! getent passwd "$USER_NAME" >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/splashtail --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  echo "created system user $USER_NAME"
fi
chown root:"$USER_NAME" "$confdir" "$confdir/config.yaml" "$confdir/splashtail.env"
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "installed: $bindir/splashtail, units in $UNITDIR, config in $confdir"
echo "next: edit $confdir/config.yaml and $confdir/splashtail.env, then systemctl enable --now splashtail-proxy splashtail-bot splashtail-webserver splashtail-jobs"
