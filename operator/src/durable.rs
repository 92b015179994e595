//! Durable file writes: every file the orchestrator writes (state, keys, configuration,
//! genesis, pid files, the applied document) goes through here.
//!
//! [`write_atomically`] writes a temporary file in the target's directory, fsyncs it, renames
//! it over the target and fsyncs the directory. A process killed at any point, or a machine
//! that loses power, leaves the old content or the new one, never a mix; a killed writer can
//! leave a hidden temporary file (`.<name>.<random>`) beside the target, which no reader
//! looks at.
//!
//! [`create_new_atomically`] does the same for files that are created once and never
//! replaced (identity keys): the new file is linked into place only if none exists.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a durable write failed: the path, the step and the operating system's reason.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// An I/O step failed.
    #[error("{}: {step}: {source}", path.display())]
    Io {
        /// The file or directory the step worked on.
        path: PathBuf,
        /// What was being done ("creating a temporary file", "renaming into place", ...).
        step: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The path names no file in a directory (`/`, or empty).
    #[error("{}: not a file path in a directory", path.display())]
    NoParent {
        /// The path given.
        path: PathBuf,
    },
    /// [`create_new_atomically`] found the file already there.
    #[error("{}: already exists", path.display())]
    AlreadyExists {
        /// The path given.
        path: PathBuf,
    },
}

/// The points of a write at which a test may stop the writer (see the kill test below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
enum Step {
    /// Half of the bytes are in the temporary file.
    PartlyWritten,
    /// Every byte is written, not yet fsynced.
    Written,
    /// The temporary file is fsynced, not yet renamed.
    Synced,
    /// Renamed into place, the directory not yet fsynced.
    Renamed,
}

/// Writes `bytes` to `path` so that a reader (after a crash, too) sees the old content or the
/// new, never a mix. Creates the parent directory when missing.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DurableError> {
    write_atomically_stepwise(path, bytes, |_| {})
}

fn write_atomically_stepwise(
    path: &Path,
    bytes: &[u8],
    mut at: impl FnMut(Step),
) -> Result<(), DurableError> {
    let dir = parent(path)?;
    let temporary = temporary_in(dir, path)?;
    let io = |step| {
        let path = temporary.path().to_path_buf();
        move |source| DurableError::Io { path, step, source }
    };
    let mut file = temporary.as_file();
    let half = bytes.len() / 2;
    file.write_all(&bytes[..half])
        .map_err(io("writing the temporary file"))?;
    at(Step::PartlyWritten);
    file.write_all(&bytes[half..])
        .map_err(io("writing the temporary file"))?;
    at(Step::Written);
    file.sync_all().map_err(io("fsyncing the temporary file"))?;
    at(Step::Synced);
    temporary.persist(path).map_err(|e| DurableError::Io {
        path: path.to_path_buf(),
        step: "renaming the temporary file into place",
        source: e.error,
    })?;
    at(Step::Renamed);
    sync_dir(dir)
}

/// Creates `path` durably with the content `fill` writes to the (not yet existing) path it is
/// given, unless `path` exists: then [`DurableError::AlreadyExists`] and nothing changes. The
/// file is filled under a hidden staging directory beside `path`, fsynced, and linked into
/// place, so `path` never exists half-written. For files written once, such as keys.
pub fn create_new_atomically<E: std::fmt::Display>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<Result<(), E>, DurableError> {
    let dir = parent(path)?;
    if path.exists() {
        return Err(DurableError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(dir)
        .map_err(|source| DurableError::Io {
            path: dir.to_path_buf(),
            step: "creating a staging directory",
            source,
        })?;
    let name = path.file_name().ok_or_else(|| DurableError::NoParent {
        path: path.to_path_buf(),
    })?;
    let staged = staging.path().join(name);
    if let Err(e) = fill(&staged) {
        return Ok(Err(e));
    }
    let io = |path: &Path, step| {
        let path = path.to_path_buf();
        move |source| DurableError::Io { path, step, source }
    };
    File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(io(&staged, "fsyncing the staged file"))?;
    match std::fs::hard_link(&staged, path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(DurableError::AlreadyExists {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(io(path, "linking the staged file into place")(e)),
    }
    sync_dir(dir)?;
    Ok(Ok(()))
}

/// The directory of `path`, created when missing.
fn parent(path: &Path) -> Result<&Path, DurableError> {
    let dir = path
        .parent()
        .filter(|d| path.file_name().is_some() && !d.as_os_str().is_empty())
        .ok_or_else(|| DurableError::NoParent {
            path: path.to_path_buf(),
        })?;
    std::fs::create_dir_all(dir).map_err(|source| DurableError::Io {
        path: dir.to_path_buf(),
        step: "creating the directory",
        source,
    })?;
    Ok(dir)
}

/// A hidden temporary file in `dir` named after `path`'s file name.
fn temporary_in(dir: &Path, path: &Path) -> Result<tempfile::NamedTempFile, DurableError> {
    let name = path
        .file_name()
        .map(|n| format!(".{}.", n.to_string_lossy()))
        .unwrap_or_else(|| ".tmp.".to_owned());
    tempfile::Builder::new()
        .prefix(&name)
        .tempfile_in(dir)
        .map_err(|source| DurableError::Io {
            path: dir.to_path_buf(),
            step: "creating a temporary file",
            source,
        })
}

/// Fsyncs directory `dir`, making a rename or link in it durable.
fn sync_dir(dir: &Path) -> Result<(), DurableError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| DurableError::Io {
            path: dir.to_path_buf(),
            step: "fsyncing the directory",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    /// Set in the child writer: the file to write.
    const CHILD_PATH: &str = "NETWRIGHT_DURABLE_TEST_PATH";
    /// Set in the child writer: the step at which it stops and waits to be killed.
    const CHILD_STEP: &str = "NETWRIGHT_DURABLE_TEST_STEP";

    const STEPS: [Step; 4] = [
        Step::PartlyWritten,
        Step::Written,
        Step::Synced,
        Step::Renamed,
    ];

    fn old_content() -> Vec<u8> {
        b"{\"old\": true}\n".repeat(64)
    }

    fn new_content() -> Vec<u8> {
        b"{\"new\": 1}\n".repeat(4096)
    }

    /// The child side of the kill test: does nothing unless the parent set the variables; then
    /// writes the new content, announces the step it stopped at and waits for SIGKILL.
    #[test]
    fn child_writer_stops_where_told() {
        let (Ok(path), Ok(step)) = (std::env::var(CHILD_PATH), std::env::var(CHILD_STEP)) else {
            return;
        };
        let stop = STEPS
            .into_iter()
            .find(|s| format!("{s:?}") == step)
            .expect("a known step");
        write_atomically_stepwise(Path::new(&path), &new_content(), |now| {
            if now == stop {
                println!("stopped-at {now:?}");
                std::io::stdout().flush().expect("stdout");
                loop {
                    std::thread::park();
                }
            }
        })
        .expect("the write up to the stop");
        panic!("the writer did not reach step {step}");
    }

    #[test]
    fn a_writer_killed_at_any_step_leaves_the_old_or_the_new_file() {
        let exe = std::env::current_exe().expect("test executable");
        for step in STEPS {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("state.json");
            std::fs::write(&path, old_content()).unwrap();
            let mut child = Command::new(&exe)
                .args([
                    "--exact",
                    "durable::tests::child_writer_stops_where_told",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_PATH, &path)
                .env(CHILD_STEP, format!("{step:?}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the child writer");
            let stdout = child.stdout.take().expect("piped stdout");
            let stopped = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                // libtest may print the test's name on the same line first.
                .any(|line| line.ends_with(&format!("stopped-at {step:?}")));
            assert!(stopped, "the child writer never reached {step:?}");
            child.kill().expect("SIGKILL the writer");
            let status = child.wait().expect("reap the writer");
            assert!(!status.success(), "{step:?}: the writer was not killed");
            let found = std::fs::read(&path).unwrap();
            let expected = if step == Step::Renamed {
                new_content()
            } else {
                old_content()
            };
            assert!(
                found == expected,
                "{step:?}: found {} bytes, neither the old file nor the new one",
                found.len()
            );
            write_atomically(&path, b"after\n").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"after\n");
        }
    }

    #[test]
    fn writes_create_the_directory_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.json")]);
    }

    #[test]
    fn create_new_never_replaces_and_leaves_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let fill =
            |text: &'static str| move |p: &Path| std::fs::write(p, text).map_err(|e| e.to_string());
        create_new_atomically(&path, fill("first"))
            .unwrap()
            .unwrap();
        let again = create_new_atomically(&path, fill("second")).unwrap_err();
        assert!(
            matches!(again, DurableError::AlreadyExists { .. }),
            "{again}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        let failed = dir.path().join("other.json");
        let refused = create_new_atomically(&failed, |_| Err("no key today")).unwrap();
        assert_eq!(refused, Err("no key today"));
        assert!(!failed.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key.json")]);
    }

    #[test]
    fn a_path_without_a_directory_is_refused() {
        let err = write_atomically(Path::new("/"), b"x").unwrap_err();
        assert!(matches!(err, DurableError::NoParent { .. }), "{err}");
    }
}
