//! Log lines collected by pure decision functions, emitted afterwards.
//!
//! Owns: [`Lines`], a buffer of `LEVEL: message` lines, so that the decision
//! logic of a check can be unit-tested natively (the buffer is inspected)
//! while the component emits the same lines through the host's `log`.
//!
//! Must never: call the host while collecting (only [`Lines::emit`] does).

use crate::Level;

/// One collected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Severity.
    pub level: Level,
    /// Text.
    pub message: String,
}

/// A buffer of log lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines(pub Vec<Line>);

impl Lines {
    /// An empty buffer.
    pub fn new() -> Lines {
        Lines(Vec::new())
    }
    /// Add a line.
    pub fn push(&mut self, level: Level, message: impl Into<String>) {
        self.0.push(Line {
            level,
            message: message.into(),
        });
    }
    /// `DEBUG:`
    pub fn debug(&mut self, message: impl Into<String>) {
        self.push(Level::Debug, message);
    }
    /// `INFO:`
    pub fn info(&mut self, message: impl Into<String>) {
        self.push(Level::Info, message);
    }
    /// `WARNING:`
    pub fn warning(&mut self, message: impl Into<String>) {
        self.push(Level::Warning, message);
    }
    /// `ERROR:`
    pub fn error(&mut self, message: impl Into<String>) {
        self.push(Level::Error, message);
    }
    /// The messages of one level, in order.
    pub fn at(&self, level: Level) -> Vec<&str> {
        self.0
            .iter()
            .filter(|l| l.level == level)
            .map(|l| l.message.as_str())
            .collect()
    }
    /// The `ERROR:` messages, in order.
    pub fn errors(&self) -> Vec<&str> {
        self.at(Level::Error)
    }
    /// Send every line to the host's log, in order, and clear the buffer.
    pub fn emit(&mut self) {
        for l in self.0.drain(..) {
            crate::log(l.level, &l.message);
        }
    }
}
