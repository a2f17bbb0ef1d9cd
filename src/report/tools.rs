//! Printing of the analyst tools' results: unit tests, lineage trees, scaffolding.

use super::{Format, Printer};

impl Printer {
    /// A line for the person at the terminal (stderr), kept out of the results on stdout:
    /// for example where `strata docs --serve` listens.
    pub fn notice(&self, text: &str) {
        super::to_stderr(&format!("{text}\n"));
    }

    pub fn docs(&self, d: &crate::app::docs::DocsOutcome) {
        if self.format == Format::Json {
            return self.json(d);
        }
        if !self.quiet {
            self.out(&format!(
                "wrote {} pages to {} (history from {} runs); open {}",
                d.pages,
                d.out.display(),
                d.runs,
                d.out.join("index.html").display()
            ));
        }
    }

    pub fn scaffolded(&self, s: &crate::app::scaffold::Scaffolded) {
        if self.format == Format::Json {
            return self.json(s);
        }
        if self.quiet {
            return;
        }
        let files: Vec<String> = s
            .written
            .iter()
            .map(|p| format!("  {}", p.display()))
            .collect();
        self.out(&format!(
            "wrote in {}:\n{}",
            s.dir.display(),
            files.join("\n")
        ));
    }

    pub fn unit_tests(&self, o: &crate::app::unit_test::TestOutcome) {
        if self.format == Format::Json {
            return self.json(o);
        }
        let mut text = String::new();
        for r in &o.results {
            if r.passed && self.quiet {
                continue;
            }
            let status = if r.passed { "PASS" } else { "FAIL" };
            text.push_str(&format!(
                "{status}  {} › {}  ({} ms)\n",
                r.stage, r.test, r.millis
            ));
            if !r.passed {
                text.push_str(&format!("      at {}\n", r.at));
                for line in &r.failure {
                    text.push_str(&format!("      {line}\n"));
                }
            }
        }
        text.push_str(&format!("{} passed, {} failed", o.passed, o.failed));
        self.out(&text);
    }

    pub fn lineage(&self, l: &crate::app::lineage::LineageOutcome) {
        if self.format == Format::Json {
            return self.json(l);
        }
        let text: Vec<String> = l
            .trees
            .iter()
            .map(crate::app::lineage::render_tree)
            .collect();
        self.out(&text.join("\n"));
    }
}
