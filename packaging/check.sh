#!/usr/bin/env bash
# Check the packages packaging/build.sh made: lintian (no errors, no warnings), rpmlint (no
# errors), the units (systemd-analyze verify, exposure <= 1.5), and both packages' life on
# this machine: install, config check, version, the backup unit's command run as the
# service user, upgrade keeping keys, edited config and a backup timer the admin turned
# on; the deb's remove keeping /etc and /var/lib and purge clearing them; the rpm's erase
# keeping them. Needs root; changes this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v lintian >/dev/null || need+=(lintian)
command -v rpmlint >/dev/null || need+=(rpmlint)
command -v rpm >/dev/null || need+=(rpm)
command -v systemd-analyze >/dev/null || need+=(systemd)
# the deb depends on it (the gateways' certificates are checked against the system's roots)
dpkg -s ca-certificates >/dev/null 2>&1 || need+=(ca-certificates)
# and on the zone database (core.rest.time_zone)
dpkg -s tzdata >/dev/null 2>&1 || need+=(tzdata)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
deb=$(ls target/packages/callvault_"$version"*_*.deb)
rpmfile=$(ls target/packages/callvault-"$version"*.rpm)
fail() { echo "packaging check FAILED: $*" >&2; exit 1; }

echo "== lintian $deb"
lintian --fail-on error,warning --info "$deb"

echo "== rpmlint $rpmfile"
rpmlint -c packaging/rpmlint.toml "$rpmfile"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" | grep -qx 'cn /etc/callvault/callvault.toml' \
  || fail "the rpm's config is not %config(noreplace)"

echo "== unit exposure"
units=$(mktemp -d)
cp systemd/callvault.service "$units/callvault.service"
cp systemd/callvault.callvault-backup.service "$units/callvault-backup.service"
for unit in callvault.service callvault-backup.service; do
  exposure=$(systemd-analyze security --offline=yes "$units/$unit" 2>/dev/null \
    | sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")
  echo "$unit exposure $exposure"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 1.5) }' || fail "$unit exposure $exposure > 1.5"
done
rm -rf "$units"

# What a first install must leave behind, whichever package made it.
installed_ok() {
  [ "$(callvault --version)" = "callvault $version" ] || fail "callvault --version: $(callvault --version)"
  runuser -u callvault -- callvault --config /etc/callvault/callvault.toml config check
  # the example the "config file not found" message points at
  cmp -s config.example.toml /usr/share/doc/callvault/examples/callvault.toml \
    || fail "no example configuration at /usr/share/doc/callvault/examples/callvault.toml"
  # the Prometheus alert rules, and their tests (scripts/check-alerts.sh runs promtool on them)
  for f in callvault-alerts.yml callvault-alerts.test.yml; do
    cmp -s "packaging/prometheus/$f" "/usr/share/doc/callvault/examples/prometheus/$f" \
      || fail "no /usr/share/doc/callvault/examples/prometheus/$f"
  done
  # the Grafana dashboard
  cmp -s packaging/grafana/callvault-dashboard.json \
    /usr/share/doc/callvault/examples/grafana/callvault-dashboard.json \
    || fail "no /usr/share/doc/callvault/examples/grafana/callvault-dashboard.json"
  local unit_dir
  unit_dir=$(dirname "$1")
  systemd-analyze verify "$1" "$unit_dir/callvault-backup.service" "$unit_dir/callvault-backup.timer"
  # the service starts at boot; the backup timer waits for an admin to turn it on
  [ -L /etc/systemd/system/multi-user.target.wants/callvault.service ] || [ "$2" = rpm ] \
    || fail "callvault.service is not enabled"
  [ ! -e /etc/systemd/system/timers.target.wants/callvault-backup.timer ] \
    || fail "the backup timer was turned on by the install"
  # the backup unit's own command, as its user: a dated copy the service's user owns
  local exec_start
  exec_start=$(sed -n 's/^ExecStart=//p' "$unit_dir/callvault-backup.service")
  # shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
  runuser -u callvault -- $exec_start >/dev/null || fail "the backup unit's command failed"
  [ "$(stat -c '%U %a' /var/lib/callvault/backups)" = "callvault 700" ] || fail "backup folder"
  [ "$(find /var/lib/callvault/backups -name 'callvault-*Z.redb' -user callvault -perm 600 | wc -l)" = 1 ] \
    || fail "no dated backup owned by callvault, mode 0600"
  rm -rf /var/lib/callvault/backups
  [ "$(stat -c '%U %a' /etc/callvault/vault.key)" = "callvault 600" ] || fail "vault key owner/mode"
  [ "$(stat -c '%U %a' /etc/callvault/initial-admin-key)" = "root 600" ] || fail "initial admin key"
  grep -q '^cvk_' /etc/callvault/initial-admin-key || fail "no admin key"
  [ "$(stat -c '%U %a' /var/lib/callvault)" = "callvault 700" ] || fail "state dir"
  [ "$(stat -c '%U %G %a' /etc/callvault/callvault.toml)" = "root callvault 640" ] || fail "config owner/mode"
  man -w callvault >/dev/null 2>&1 || [ -f /usr/share/man/man1/callvault.1.gz ] || fail "man page"
}

# An upgrade (the same package again) keeps the vault key and an edited config.
upgrade_keeps_keys_and_config() {
  local key_before
  key_before=$(sha256sum /etc/callvault/vault.key)
  echo "# edited by the admin" >> /etc/callvault/callvault.toml
  "$@"
  [ "$(sha256sum /etc/callvault/vault.key)" = "$key_before" ] || fail "the vault key changed"
  grep -q '^# edited by the admin' /etc/callvault/callvault.toml || fail "the edited config was replaced"
}

echo "== deb: install"
dpkg -i "$deb"
installed_ok /lib/systemd/system/callvault.service deb

echo "== deb: upgrade keeps keys and an edited config"
upgrade_keeps_keys_and_config dpkg -i "$deb"

# README's `systemctl enable --now callvault-backup.timer`, without --now: no systemd runs
# here, and enabling works on the unit files alone
echo "== deb: a backup timer the admin turned on stays on across an upgrade"
timer_link=/etc/systemd/system/timers.target.wants/callvault-backup.timer
systemctl enable callvault-backup.timer
[ -L "$timer_link" ] || fail "systemctl enable did not enable the timer"
dpkg -i "$deb"
[ -L "$timer_link" ] || fail "the upgrade turned the backup timer off"

# README's restore line and a key rotation, run by root with the service stopped, must leave
# files the service's user can open (before 2026-12-05 both became root's).
echo "== deb: restore and rotate-key as root leave files the service can open"
cv_as_service() { runuser -u callvault -- callvault --config /etc/callvault/callvault.toml "$@"; }
cv_as_service db backup /var/lib/callvault/check-backup.redb
callvault --config /etc/callvault/callvault.toml db restore /var/lib/callvault/check-backup.redb
callvault --config /etc/callvault/callvault.toml vault rotate-key
[ "$(stat -c '%U %a' /var/lib/callvault/callvault.redb)" = "callvault 600" ] || fail "restored store owner/mode"
[ "$(stat -c '%U %a' /etc/callvault/vault.key)" = "callvault 600" ] || fail "rotated key owner/mode"
cv_as_service db check >/dev/null || fail "the service user cannot open the restored store"
cv_as_service vault status >/dev/null || fail "the service user cannot read the rotated key"
rm -f /var/lib/callvault/check-backup.redb /var/lib/callvault/callvault.redb.before-restore

echo "== deb: remove keeps config and data"
dpkg -r callvault
[ ! -e /usr/bin/callvault ] || fail "binary left after remove"
[ -f /etc/callvault/vault.key ] && [ -d /var/lib/callvault ] || fail "remove deleted config or data"

echo "== deb: purge clears them"
dpkg -P callvault
[ ! -e /etc/callvault ] && [ ! -e /var/lib/callvault ] || fail "purge left /etc/callvault or /var/lib/callvault"
[ ! -e "$timer_link" ] || fail "purge left the backup timer enabled"

# The rpm on this Debian machine: --nodeps, since Debian's rpm database holds none of the
# packages it requires; its scriptlets (the same setup-system.sh) run as on RHEL.
echo "== rpm: install"
rpm -i --nodeps "$rpmfile"
installed_ok /usr/lib/systemd/system/callvault.service rpm

echo "== rpm: upgrade keeps keys and an edited config"
upgrade_keeps_keys_and_config rpm -U --replacepkgs --nodeps "$rpmfile"

echo "== rpm: erase keeps keys and data, and the edited config as .rpmsave"
rpm -e --nodeps callvault
[ ! -e /usr/bin/callvault ] || fail "binary left after rpm -e"
[ -f /etc/callvault/vault.key ] && [ -d /var/lib/callvault ] || fail "rpm -e deleted keys or data"
grep -q '^# edited by the admin' /etc/callvault/callvault.toml.rpmsave || fail "no callvault.toml.rpmsave"
rm -rf /etc/callvault /var/lib/callvault   # what the rpm leaves to the admin
echo "packaging check passed"
