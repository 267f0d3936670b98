//! Output helpers: colour only on a terminal, quiet on pipes.

use std::io::IsTerminal;

pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// Wraps `text` in an ANSI colour when `on`.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn green(on: bool, t: &str) -> String {
    paint(on, "32;1", t)
}
pub fn red(on: bool, t: &str) -> String {
    paint(on, "31;1", t)
}
pub fn dim(on: bool, t: &str) -> String {
    paint(on, "2", t)
}
