//! The README's developer session, run as written: every `sh` block of its section, the first (the
//! mock) in the background and the others in order in one shell, as a developer pastes them into
//! two terminals. What follows `→` in a line's comment is what that command prints, and is checked.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[expect(dead_code, reason = "this test starts the mock as the README writes it, not through `common::serve`")]
mod common;
use common::Killed;

const SECTION: &str = "## A developer's session against a running mock";

/// The section's `sh` blocks.
fn blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    let section = readme.split_once(SECTION).expect("the README has the developer's session").1;
    let section = section.split_once("\n## ").map_or(section, |(section, _)| section);
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split_once("\n```").expect("the block ends").0.to_owned())
        .collect()
}

/// A command as the shell reads it: its lines joined where one ends in `\`.
struct Line {
    text: String,
    /// What the command prints (in part): the end of its comment, after `→`.
    expected: Option<String>,
}

fn lines(block: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut text = String::new();
    for physical in block.lines() {
        text.push_str(physical);
        if physical.ends_with('\\') {
            text.push('\n');
            continue;
        }
        let expected = physical.rsplit_once('→').map(|(before, after)| {
            assert!(before.contains("# "), "`→` belongs in a comment: {physical}");
            after.trim().to_owned()
        });
        lines.push(Line { text: std::mem::take(&mut text), expected });
    }
    lines
}

/// What the mock printed at its start.
struct Announced {
    url: String,
    radio: String,
    token: String,
    /// Every line, for the mock's own `→`.
    said: String,
}

/// What this test changes in the README's text, all of it: the mock runs the `caas` this test
/// built (cargo cannot run inside `cargo test`; `exec`, so stopping the shell stops the mock) on a
/// free port (8080 may be taken), and the values
/// the README has the reader copy from the mock's output are the ones this mock printed. Each is
/// asserted to be there, so the README cannot drift from what is run.
fn on_this_machine(block: &str, mock: Option<&Announced>) -> String {
    let caas = format!("exec {}", env!("CARGO_BIN_EXE_caas"));
    let substitutions = match mock {
        None => vec![("cargo run -p caas-cli --", caas.as_str()), ("--port 8080", "--port 0")],
        Some(mock) => vec![
            ("http://127.0.0.1:8080", mock.url.as_str()),
            ("sbx_...", mock.token.as_str()),
            ("127.0.0.1:PORT", mock.radio.as_str()),
        ],
    };
    substitutions.into_iter().fold(block.to_owned(), |text, (from, to)| {
        assert!(text.contains(from), "the README's `{from}` is what this test replaces:\n{text}");
        text.replacen(from, to, 1)
    })
}

/// Runs the mock's block in `dir` until the test ends, and reads what it printed.
fn serve(block: &str, dir: &Path) -> (Killed, Announced) {
    let [line] = lines(block).try_into().unwrap_or_else(|_| panic!("the mock's block is one command:\n{block}"));
    let mut mock = Killed(
        Command::new("bash")
            .args(["-c", &on_this_machine(&line.text, None)])
            .current_dir(dir)
            .env("HOME", dir)
            .env_remove("CAAS_SANDBOX_TOKEN")
            .stdout(Stdio::piped())
            .spawn()
            .expect("bash runs"),
    );
    // The sandbox token is the last startup line; the mock prints nothing more until it stops.
    let mut said = Vec::new();
    for line in BufReader::new(mock.0.stdout.take().expect("stdout")).lines().map_while(Result::ok) {
        let last = line.starts_with("sandbox token: ");
        said.push(line);
        if last {
            break;
        }
    }
    let value = |prefix: &str| {
        said.iter()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("the mock did not print `{prefix}`: {said:?}"))
            .to_owned()
    };
    let announced = Announced {
        url: value("listening on "),
        radio: value("car radio on "),
        token: value("sandbox token: "),
        said: said.join("\n"),
    };
    if let Some(expected) = &line.expected {
        assert!(announced.said.contains(expected.as_str()), "the mock prints `{expected}`: {}", announced.said);
    }
    (mock, announced)
}

/// The marker the script prints before the command at `index`, so each command's output is its own.
fn marker(index: usize) -> String {
    format!("@@ readme command {index} @@")
}

#[test]
fn the_readme_developer_session_runs_as_written_and_prints_what_it_says() {
    assert!(
        Command::new("jq").arg("--version").output().is_ok_and(|o| o.status.success()),
        "the session uses jq (Debian: `apt install jq`; ./scripts/test installs it)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let blocks = blocks();
    let (mock_block, session) = blocks.split_first().expect("the section starts the mock");
    assert!(session.len() >= 2, "the exports and the session follow the mock: {blocks:#?}");
    let (_mock, mock) = serve(mock_block, dir.path());

    // The exports take the mock's values; the rest runs as written.
    let (exports, rest) = session.split_first().expect("the exports");
    let commands: Vec<Line> = std::iter::once(on_this_machine(exports, Some(&mock)))
        .chain(rest.iter().cloned())
        .flat_map(|block| lines(&block))
        .collect();
    let script: String =
        commands.iter().enumerate().map(|(index, line)| format!("echo '{}'\n{}\n", marker(index), line.text)).collect();
    let bin = Path::new(env!("CARGO_BIN_EXE_caas")).parent().expect("bin dir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = dir.path().join("out");
    let file = std::fs::File::create(&out).expect("out");
    let mut shell = Killed(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", path)
            .env("HOME", dir.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("CAAS_DATA_DIR")
            .env_remove("CAAS_BACKEND")
            .env_remove("CAAS_SANDBOX_TOKEN")
            .env_remove("CAAS_RADIO")
            .stdout(file.try_clone().expect("out"))
            .stderr(file)
            .spawn()
            .expect("bash runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut finished = None;
    while finished.is_none() && Instant::now() < deadline {
        finished = shell.0.try_wait().expect("waits");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(shell);
    let said = std::fs::read_to_string(&out).unwrap_or_default();
    let status = finished.unwrap_or_else(|| panic!("the session did not end in three minutes:\n{said}"));
    assert!(status.success(), "the session failed:\n{said}");

    let mut checked = 0;
    for (index, line) in commands.iter().enumerate() {
        let printed = said.split_once(&marker(index)).expect("the command ran").1;
        let printed = printed.split_once(&marker(index + 1)).map_or(printed, |(printed, _)| printed);
        if let Some(expected) = &line.expected {
            assert!(printed.contains(expected.as_str()), "`{}` prints `{expected}`; it printed:\n{printed}", line.text);
            checked += 1;
        } else {
            assert!(
                line.text.starts_with("export ") || line.text.contains("=$("),
                "a command says what it prints, after `→`: {}",
                line.text
            );
        }
    }
    assert!(checked >= 20, "the session's outcomes are checked: {checked}");
}
