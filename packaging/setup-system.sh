# Shared by the deb postinst and the rpm %post (sourced, POSIX sh): the service user, the
# state directory, ownership of /etc/callvault, and on first install the vault key, the TLS
# pair and a first admin key, made by `callvault init` as the service user. Nothing that
# exists is ever overwritten, so upgrades keep keys, config and data.
callvault_setup() {
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers /usr/lib/sysusers.d/callvault.conf
    fi
    if ! getent passwd callvault >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/callvault --no-create-home \
            --shell /usr/sbin/nologin --comment "callvault caller authentication" callvault
    fi
    install -d -m 0700 -o callvault -g callvault /var/lib/callvault
    # the service reads its config and keys here, and renames the key file on rotation
    chown callvault:callvault /etc/callvault
    chmod 0750 /etc/callvault
    # the config may hold secrets (SMTP password, gateway tokens)
    chown root:callvault /etc/callvault/callvault.toml
    chmod 0640 /etc/callvault/callvault.toml
    if [ ! -e /etc/callvault/vault.key ]; then
        old_umask=$(umask)
        umask 077
        if runuser -u callvault -- /usr/bin/callvault --config /etc/callvault/callvault.toml \
            init >/etc/callvault/initial-admin-key.new 2>/var/lib/callvault/init.log; then
            mv /etc/callvault/initial-admin-key.new /etc/callvault/initial-admin-key
            echo "callvault: vault key and TLS pair created in /etc/callvault."
            echo "callvault: the first admin API key is in /etc/callvault/initial-admin-key"
            echo "callvault: (root only): store it safely, then delete that file."
        else
            rm -f /etc/callvault/initial-admin-key.new
            echo "callvault: 'callvault init' failed (see /var/lib/callvault/init.log);" >&2
            echo "callvault: fix /etc/callvault/callvault.toml, then run" >&2
            echo "callvault:   runuser -u callvault -- callvault init" >&2
        fi
        umask "$old_umask"
    fi
}
