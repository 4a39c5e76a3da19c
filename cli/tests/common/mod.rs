//! What the CLI's tests share: a child process stopped when the test ends, a mock on a free port
//! started through `caas mock serve`, and the sale most tests start from.

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

/// `caas dealership sale` of a `model` to `email` in Madrid, with the national ID and address the
/// registry needs to register the car later: the arguments, for each test to run its own way.
#[allow(dead_code, reason = "the README's session sells through the README's own commands")]
pub fn madrid_sale<'a>(email: &'a str, name: &'a str, model: &'a str) -> Vec<&'a str> {
    vec![
        "dealership",
        "sale",
        "--email",
        email,
        "--name",
        name,
        "--national-id",
        "12345678Z",
        "--address",
        "Calle Mayor 1, 28013 Madrid",
        "--model",
        model,
        "--locality",
        "Madrid",
    ]
}
