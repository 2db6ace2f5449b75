. /usr/share/callvault/setup-system.sh
callvault_setup
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl enable callvault.service >/dev/null 2>&1 || :
    else
        systemctl try-restart callvault.service >/dev/null 2>&1 || :
    fi
fi
