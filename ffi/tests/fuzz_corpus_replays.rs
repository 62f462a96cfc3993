//! Every committed corpus file of the C ABI fuzz target (`fuzz/corpus/c_abi/`) goes through
//! the same check as the target (`ffi/fuzzing/c_abi/`, included by path by both), on
//! stable. A file whose check panics fails the test, named.

#[allow(dead_code)]
#[path = "../../engine/tests/common/watchdog.rs"]
mod watchdog;

#[path = "../fuzzing/c_abi/mod.rs"]
mod c_abi;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

#[test]
fn c_abi_corpus_passes_its_checks() {
    watchdog::arm();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/c_abi");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
    let tmp = tempfile::tempdir().unwrap();
    let fixture = c_abi::Fixture::open(tmp.path());
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).expect("read a corpus file");
            catch_unwind(AssertUnwindSafe(|| c_abi::check(&fixture, &bytes))).is_err()
        })
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        failed.is_empty(),
        "c_abi: these corpus files fail: {failed:?}"
    );
}
