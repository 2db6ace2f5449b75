# $1 = 0: erase (not upgrade): stop and disable; config, keys and data stay
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl disable --now callvault.service callvault-backup.timer >/dev/null 2>&1 || :
fi
