//! What the CLI's tests share: a child process stopped when the test ends, and a mock on a free
//! port started through `caas mock serve`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A child killed and reaped when dropped, even when the test panics.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _already_gone = self.0.kill();
        let _reaped = self.0.wait();
    }
}

/// `caas mock serve` on a free port through `caas` (a command carrying the test's environment),
/// with `extra` flags: the process, its URL and its car radio's address.
pub fn serve(mut caas: Command, db: &Path, extra: &[&str]) -> (Killed, String, String) {
    let mut child = caas
        .args(["mock", "serve", "--port", "0", "--db"])
        .arg(db)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the mock starts");
    let mut announced = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = |prefix: &str| {
        let mut line = String::new();
        announced.read_line(&mut line).expect("announces");
        line.trim().strip_prefix(prefix).unwrap_or_else(|| panic!("`{prefix}` expected: {line}")).to_owned()
    };
    let url = line("listening on ");
    let radio = line("car radio on ");
    (Killed(child), url, radio)
}
