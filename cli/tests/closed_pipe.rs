//! `caas ... | head`: a reader that stops reading ends the command quietly with status 0, as a Unix
//! filter ends, and never with a panic and its backtrace (it panicked with "failed printing to
//! stdout: Broken pipe"). Also for `listen`, which would otherwise follow the platform forever.
//! A command that failed keeps its failure's exit status, and tells it on stderr.

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const SANDBOX: &str = "sbx_closed_pipe_test";

/// Reads the first bytes `child` prints, then closes the pipe as `head -c` does.
fn read_a_little_and_close(child: &mut Child) {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0_u8; 16];
    let read = stdout.read(&mut first).expect("reads");
    assert!(read > 0, "the command printed something first");
    drop(stdout);
}

/// Waits for `child` to end by itself; its exit status and what it wrote on stderr.
fn ended(mut child: common::Killed) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after its reader went away");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.0.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("reads stderr");
    (status.code(), stderr)
}

/// A failing `--json` command whose reader has gone exited 0, its failure told nowhere: printing
/// the failure on the closed pipe ended the program as if the command had succeeded.
#[test]
fn a_failing_command_whose_reader_has_gone_keeps_its_exit_status_and_tells_stderr() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_caas"))
        .args(["--json", "--backend", "http://127.0.0.1:9", "sandbox", "orders"])
        .env("CAAS_SANDBOX_TOKEN", SANDBOX)
        .stdout(writer)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "offline, as with a reader: {stderr}");
    assert!(stderr.contains("error: offline: "), "{stderr}");
}

/// Neither stdout nor stderr can be written (both on a full disk): nothing can be told, but the
/// exit status still is. Telling the failure on stderr panicked, and the command ended with 101.
#[test]
fn a_failing_command_with_nowhere_to_write_keeps_its_exit_status() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    for json in [true, false] {
        let mut caas = Command::new(env!("CARGO_BIN_EXE_caas"));
        if json {
            caas.arg("--json");
        }
        let output = caas
            .args(["--backend", "http://127.0.0.1:9", "sandbox", "orders"])
            .env("CAAS_SANDBOX_TOKEN", SANDBOX)
            .stdout(full())
            .stderr(full())
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(4), "offline, --json {json}");
    }
}

#[test]
fn the_demo_piped_into_head_ends_quietly_with_status_0() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_caas"))
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    read_a_little_and_close(&mut demo);
    let (status, stderr) = ended(common::Killed(demo));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status, Some(0), "a reader that stopped reading is no failure of the command: {stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("lists").collect();
    assert!(left.is_empty(), "the demo's temporary folder is removed all the same: {left:?}");
}

#[test]
fn listen_stops_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let caas = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_caas"));
        command.env("CAAS_SANDBOX_TOKEN", SANDBOX).env("CAAS_DATA_DIR", dir.path().join("data"));
        command
    };
    let (_mock, url, _radio) = common::serve(caas(), &dir.path().join("mock.db"), &[]);
    let mut listen = caas()
        .args(["--backend", &url, "listen", "--from-start"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    read_a_little_and_close(&mut listen);
    let listen = common::Killed(listen);

    // Something happens after the reader went away: `listen` has it to print.
    let run = |args: &[&str]| {
        let output = caas().args(["--backend", &url]).args(args).output().expect("runs");
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["dealership", "sign-in", "madrid-centro", "--sandbox"]);
    run(&[common::madrid_sale("piped@example.com", "Pipe Reader", "urban-ev"), vec!["--phone", "+34600111777"]]
        .concat());

    let (status, stderr) = ended(listen);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status, Some(0), "{stderr}");
}
