//! What `gate run` shows: the live table, the final table, a gate's verdict line, and the
//! JUnit report.

use std::io::{IsTerminal, Write};

use netwright_operator::gates::{GateState, GateStatus};

use netwright_operator::gates::broken_conditions;

/// Why a gate did not pass: its reason and the conditions that did not hold.
pub fn verdict_message(gate: &GateStatus) -> String {
    let reason = gate
        .reason
        .as_ref()
        .map_or_else(|| "no verdict".to_owned(), ToString::to_string);
    let broken = broken_conditions(&gate.conditions);
    if broken.is_empty() {
        reason
    } else {
        format!("{reason}; {}", broken.join("; "))
    }
}

/// The gates' table: redrawn in place on a terminal, transitions as plain lines otherwise.
pub struct LiveTable {
    tty: bool,
    drawn: usize,
}

impl LiveTable {
    pub fn new() -> Self {
        LiveTable {
            tty: std::io::stdout().is_terminal(),
            drawn: 0,
        }
    }

    /// Prints a line above the table.
    pub fn line(&mut self, text: &str) {
        self.clear();
        println!("{text}");
    }

    /// Redraws the table (on a terminal only).
    pub fn draw(&mut self, status: &[GateStatus], at_ms: u64) {
        if !self.tty {
            return;
        }
        self.clear();
        let rows = table_rows(status, Some(at_ms));
        let mut out = std::io::stdout().lock();
        for row in &rows {
            let _ = writeln!(out, "{row}");
        }
        let _ = out.flush();
        self.drawn = rows.len();
    }

    /// Erases the table drawn last.
    pub fn clear(&mut self) {
        if self.drawn > 0 {
            print!("\x1b[{}A\x1b[J", self.drawn);
            let _ = std::io::stdout().flush();
            self.drawn = 0;
        }
    }
}

/// The gates' table: a header, then per gate its state, time left and conditions.
fn table_rows(status: &[GateStatus], now_ms: Option<u64>) -> Vec<String> {
    let width = status
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut rows = vec![format!(
        "{:width$}  {:9}  {:>9}  CONDITIONS",
        "GATE", "STATE", "LEFT"
    )];
    for gate in status {
        let left = match (gate.state, gate.deadline_ms, now_ms) {
            (GateState::Pending, Some(deadline), Some(now)) => {
                format!("{:.1}s", deadline.saturating_sub(now) as f64 / 1000.0)
            }
            _ => "-".to_owned(),
        };
        let conditions = gate
            .conditions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        rows.push(format!(
            "{:width$}  {:9}  {:>9}  {}",
            gate.name,
            gate.state.name(),
            left,
            conditions
        ));
    }
    rows
}

/// Prints the final table.
pub fn print_final(status: &[GateStatus]) {
    for row in table_rows(status, None) {
        println!("{row}");
    }
}

/// A JUnit XML report: one test suite, one test case per gate; a gate that did not pass is a
/// failure whose message names its reason, conditions and observed values.
pub fn junit_xml(network: &str, status: &[GateStatus], elapsed_ms: u64) -> String {
    let failures = status
        .iter()
        .filter(|g| g.state != GateState::Passed)
        .count();
    let seconds = elapsed_ms as f64 / 1000.0;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"netwright gates\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
        status.len()
    ));
    xml.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">\n",
        escape(network),
        status.len()
    ));
    for gate in status {
        let name = escape(&gate.name);
        let classname = escape(&format!("gates.{network}"));
        if gate.state == GateState::Passed {
            xml.push_str(&format!(
                "    <testcase name=\"{name}\" classname=\"{classname}\"/>\n"
            ));
        } else {
            let message = escape(&format!("{}: {}", gate.state, verdict_message(gate)));
            xml.push_str(&format!(
                "    <testcase name=\"{name}\" classname=\"{classname}\">\n      <failure message=\"{message}\" type=\"{}\">{message}</failure>\n    </testcase>\n",
                gate.state
            ));
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// `text` escaped for XML attribute values and character data; characters XML 1.0 cannot
/// carry are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" > 'd'\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;&#10;"
        );
    }
}
