//! The app's log file: `consult.log` in the platform's log directory, rotated by size, so IT can
//! read what happened after the fact. No crate: a few lines keep the files private (directory
//! 0700, files 0600 from their creation) and bounded (`MAX_BYTES` × `1 + KEEP`).
//! What goes in is what goes to stderr, which never holds a token, a password or a patient name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The current file; older ones are `consult.log.1` (newest) to `consult.log.{KEEP}`.
pub const FILE_NAME: &str = "consult.log";
/// A file is rotated before it would grow past this.
pub const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept besides the current one.
pub const KEEP: usize = 3;

#[derive(Debug, thiserror::Error)]
#[error("cannot write the log file in {dir}: {source}")]
pub struct LogFileError {
    dir: PathBuf,
    source: io::Error,
}

/// One directory's rotating log file.
#[derive(Debug)]
struct Rotating {
    dir: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
}

impl Rotating {
    fn open(dir: &Path, max_bytes: u64) -> io::Result<Rotating> {
        private_dir(dir)?;
        let file = private_file(&dir.join(FILE_NAME))?;
        let written = file.metadata()?.len();
        Ok(Rotating {
            dir: dir.to_owned(),
            file,
            written,
            max_bytes,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: usize| self.dir.join(format!("{FILE_NAME}.{n}"));
        // Windows' rename does not replace, so the oldest goes first.
        match fs::remove_file(numbered(KEEP)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        for n in (1..KEEP).rev() {
            match fs::rename(numbered(n), numbered(n + 1)) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        fs::rename(self.dir.join(FILE_NAME), numbered(1))?;
        self.file = private_file(&self.dir.join(FILE_NAME))?;
        self.written = 0;
        Ok(())
    }
}

impl Write for Rotating {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The subscriber writes one event per call, so a line is never split across files.
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The log file as a writer for the tracing subscriber. Until [`LogFile::attach`] (the log
/// directory is known only once the app is set up) writes go nowhere.
#[derive(Debug, Clone, Default)]
pub struct LogFile(Arc<Mutex<Option<Rotating>>>);

impl LogFile {
    /// From now on, log lines also go to `dir/consult.log`. Returns that path.
    pub fn attach(&self, dir: &Path) -> Result<PathBuf, LogFileError> {
        self.attach_with_limit(dir, MAX_BYTES)
    }

    fn attach_with_limit(&self, dir: &Path, max_bytes: u64) -> Result<PathBuf, LogFileError> {
        let rotating = Rotating::open(dir, max_bytes).map_err(|source| LogFileError {
            dir: dir.to_owned(),
            source,
        })?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(rotating);
        Ok(dir.join(FILE_NAME))
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(file) => file.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

/// The last `count` lines logged in `dir` (the previous file too if the current one is short);
/// empty if there is no log yet.
pub fn last_lines(dir: &Path, count: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for name in [format!("{FILE_NAME}.1"), FILE_NAME.to_owned()] {
        if let Ok(bytes) = fs::read(dir.join(name)) {
            lines.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
        }
    }
    let skip = lines.len().saturating_sub(count);
    lines.split_off(skip)
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // Also when an older version or another tool made it readable to others.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> io::Result<()> {
    // The per-user app data directory is the user's own on Windows and macOS.
    fs::create_dir_all(dir)
}

fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_line(log: &mut LogFile, line: &str) {
        log.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    #[test]
    fn nothing_is_written_before_attach_and_everything_after() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let mut log = LogFile::default();
        write_line(&mut log, "early");
        let path = log.attach(&logs).unwrap();
        write_line(&mut log, "one");
        write_line(&mut log, "two");
        assert_eq!(path, logs.join(FILE_NAME));
        assert_eq!(fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        assert_eq!(last_lines(&logs, 1), vec!["two"]);
        assert_eq!(last_lines(&logs, 10), vec!["one", "two"]);
        assert!(last_lines(&dir.path().join("none"), 10).is_empty());
    }

    #[test]
    fn files_rotate_by_size_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::default();
        log.attach_with_limit(dir.path(), 20).unwrap();
        for n in 0..20 {
            write_line(&mut log, &format!("line {n:02}")); // 8 bytes: two per file
        }
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "consult.log",
                "consult.log.1",
                "consult.log.2",
                "consult.log.3"
            ]
        );
        assert_eq!(
            fs::read_to_string(dir.path().join(FILE_NAME)).unwrap(),
            "line 18\nline 19\n"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("consult.log.3")).unwrap(),
            "line 12\nline 13\n"
        );
        // Across the rotation, newest last.
        assert_eq!(
            last_lines(dir.path(), 3),
            vec!["line 17", "line 18", "line 19"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn nobody_else_can_read_the_logs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
        let mut log = LogFile::default();
        log.attach_with_limit(&logs, 10).unwrap();
        write_line(&mut log, "first one");
        write_line(&mut log, "rotated");
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&logs), 0o700);
        assert_eq!(mode(&logs.join(FILE_NAME)), 0o600);
        assert_eq!(mode(&logs.join("consult.log.1")), 0o600);
    }
}
