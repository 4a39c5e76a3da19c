//! What a command prints: a text for people, or with `--json` one JSON document on stdout and
//! nothing else (a command that follows something live prints one document per line).

use serde_json::Value;

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

    pub fn print(&self, json: bool) {
        if json {
            if let Some(document) = &self.json {
                println!("{document}");
            }
        } else if !self.text.is_empty() {
            println!("{}", self.text.trim_end_matches('\n'));
        }
    }
}

/// One line per item, or `empty` when there is none.
pub fn lines(items: impl Iterator<Item = String>, empty: &str) -> String {
    let text = items.collect::<Vec<_>>().join("\n");
    if text.is_empty() { empty.to_owned() } else { text }
}
