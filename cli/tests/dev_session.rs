//! The README's developer session, run as written: the block between its markers is a bash script
//! against a mock this test starts (with the robot courier), so every example the README shows is
//! one a developer can paste.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::Killed;

const SANDBOX: &str = "sbx_dev_session";
const START: &str = "<!-- dev-session: run by cli/tests/dev_session.rs -->";

/// The session's script: the first `sh` block after the marker.
fn session() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    let after = readme.split_once(START).expect("the README marks its developer session").1;
    let block = after.split_once("```sh\n").expect("a shell block follows the marker").1;
    block.split_once("\n```").expect("the block ends").0.to_owned()
}

#[test]
fn the_readme_developer_session_runs_as_written() {
    assert!(
        Command::new("jq").arg("--version").output().is_ok_and(|o| o.status.success()),
        "the session uses jq (Debian: `apt install jq`; ./scripts/test installs it)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let caas = env!("CARGO_BIN_EXE_caas");
    let mut mock = Command::new(caas);
    mock.env("CAAS_SANDBOX_TOKEN", SANDBOX);
    let (_mock, url, radio) = common::serve(mock, &dir.path().join("mock.db"), &["--robot-courier"]);
    let bin = Path::new(caas).parent().expect("bin dir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut script = Killed(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &session()])
            .current_dir(dir.path())
            .env("PATH", path)
            .env("HOME", dir.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("CAAS_DATA_DIR")
            .env("CAAS_BACKEND", &url)
            .env("CAAS_SANDBOX_TOKEN", SANDBOX)
            .env("CAAS_RADIO", &radio)
            .stdout(std::fs::File::create(dir.path().join("out")).expect("out"))
            .stderr(std::fs::File::create(dir.path().join("err")).expect("err"))
            .spawn()
            .expect("bash runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut finished = None;
    while Instant::now() < deadline {
        finished = script.0.try_wait().expect("waits");
        if finished.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(script);
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    let said = format!("{}\n--- stderr ---\n{}", read("out"), read("err"));
    let status = finished.unwrap_or_else(|| panic!("the session did not end in three minutes:\n{said}"));
    assert!(status.success(), "the session failed:\n{said}");
    assert!(
        read("out").trim_end().ends_with("operational") || said.contains("\noperational\n"),
        "the session ends with the car operational:\n{said}"
    );
}
