//! What a command prints: a text for people, or with `--json` one JSON document on stdout and
//! nothing else (a command that follows something live prints one document per line).

use std::fmt::{self, Display};
use std::io::{self, Write as _};

use serde_json::Value;

use crate::failure::{Exit, Failure};

/// A command's result, in both forms; `main` prints the one asked for.
#[derive(Debug)]
pub struct Output {
    text: String,
    /// `None` when a live command printed everything as it went.
    json: Option<Value>,
}

impl Output {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        Self { text: text.into(), json: Some(json) }
    }

    /// Nothing more to print: a live command printed as it went.
    pub fn done() -> Self {
        Self { text: String::new(), json: None }
    }

    /// Prints the form asked for, through [`write_stdout`].
    pub fn print(&self, json: bool) -> Result<(), Unprinted> {
        if json {
            if let Some(document) = &self.json {
                print_line(document)?;
            }
        } else if !self.text.is_empty() {
            print_line(self.text.trim_end_matches('\n'))?;
        }
        Ok(())
    }
}

/// `line` and a newline on stdout, through [`write_stdout`].
pub fn print_line(line: impl Display) -> Result<(), Unprinted> {
    write_stdout(&format!("{line}\n"))
}

/// Writes `text` as it is to stdout, flushed: everything this shell prints on stdout goes through
/// here (`print!` would panic when stdout cannot be written).
pub fn write_stdout(text: &str) -> Result<(), Unprinted> {
    let written = {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())
    };
    match written {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(Unprinted::ReaderGone),
        Err(error) => Err(Unprinted::Failed(
            Failure::new(Exit::Internal, "internal", format!("printing on stdout failed: {error}"))
                .with_fix("check where stdout goes: a file needs room on its disk, a closed stdout takes nothing"),
        )),
    }
}

/// Tells `text` on stderr (warnings, a failure, a prompt), as it is. When stderr cannot be written
/// either there is nowhere left to tell anything, so the text is dropped: `eprint!` would panic
/// instead and end the command with 101, losing its own exit status.
pub fn write_stderr(text: &str) {
    let mut stderr = io::stderr().lock();
    let _nowhere_to_tell = stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush());
}

/// `line` and a newline on stderr, through [`write_stderr`].
pub fn tell(line: impl Display) {
    write_stderr(&format!("{line}\n"));
}

/// Why [`write_stdout`] printed nothing. Only the caller knows what that means for it, so nothing
/// ends the program here: `main` ends a command whose answer or live lines found no reader quietly
/// with status 0, as a Unix filter piped into `head` ends (ripgrep ends so too; a C filter is
/// killed by SIGPIPE, which Rust ignores), but a failed command keeps its exit status and tells its
/// failure on stderr.
#[derive(Debug)]
pub enum Unprinted {
    /// The reader has gone (`caas orders | head`: the pipe is closed). No failure of the command;
    /// a command that follows something live (`listen`, `watch`, `delivery code --live`) returns
    /// it to stop at its next line rather than run on for nobody, and the demo returns it at its
    /// end, its mock stopped and its temporary folder removed as it returns.
    ReaderGone,
    /// Any other failure to write (a file on a full disk, a closed stdout): the command's internal
    /// failure (exit 5).
    Failed(Failure),
}

impl Display for Unprinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReaderGone => f.write_str("stdout's reader has gone"),
            Self::Failed(failure) => failure.fmt(f),
        }
    }
}

impl std::error::Error for Unprinted {}

/// One line per item, or `empty` when there is none.
pub fn lines(items: impl Iterator<Item = String>, empty: &str) -> String {
    let text = items.collect::<Vec<_>>().join("\n");
    if text.is_empty() { empty.to_owned() } else { text }
}
