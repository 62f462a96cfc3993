//! A small file system for tests that need one to fill up or to turn read-only: a tmpfs
//! mounted at a fresh directory (which needs root; CI runs as root).

use std::path::Path;
use std::process::Command;

/// A tmpfs mounted at a fresh directory; unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount`'s syntax: "4m"); `None` when that is not allowed.
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = format!("size={size},mode=0700");
        let mounted = mount(&["-t", "tmpfs", "-o", &options, "tmpfs"], dir.path());
        mounted.then_some(Self { dir })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Makes the file system read-only (its files stay readable).
    pub fn make_read_only(&self) {
        assert!(
            mount(&["-o", "remount,ro"], self.dir.path()),
            "remount the tmpfs read-only"
        );
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn mount(args: &[&str], at: &Path) -> bool {
    Command::new("mount")
        .args(args)
        .arg(at)
        .status()
        .is_ok_and(|s| s.success())
}

/// A small disk, or `None` after saying the test was skipped: outside CI only (where `CI` is
/// set, not being able to mount fails the test).
pub fn small_disk_or_skip(size: &str) -> Option<SmallDisk> {
    let disk = SmallDisk::mount(size);
    if disk.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot mount a tmpfs (it needs root, as CI has)"
        );
        eprintln!("skipped: mounting a tmpfs needs root; run this test as root");
    }
    disk
}
