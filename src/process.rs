//! What callvault does to its own process before it reads a secret.

use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};

/// No core dump of this process, whatever the system's settings, and no other process of
/// its user looking into it. Its memory holds the vault key, and PINs, codes and SSNs as they
/// pass; a crash, or systemd's watchdog ending a stuck service with SIGABRT, would otherwise
/// write all of it to a file: systemd-coredump keeps cores under `/var/lib/systemd/coredump`
/// (RHEL installs it by default), apport under `/var/crash` (Ubuntu), and the kernel's default
/// writes `core` into the working directory. The core size limit goes to 0, which
/// systemd-coredump honours too, and the process is made not dumpable, which also keeps a
/// process of the same user from attaching to it (ptrace) or reading `/proc/PID/mem`.
pub fn no_core_dumps() -> rustix::io::Result<()> {
    let none = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    setrlimit(Resource::Core, none)?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
}
