//! Renders engine events on the terminal: progress bars with indicatif, and one line per
//! epoch and note on stderr (so logs keep them when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use studio_core::progress::{Event, Observer};

/// A terminal observer.
pub struct Terminal {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Terminal {
    /// Prints progress unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self { bar: None, quiet }
    }

    fn println(&self, line: String) {
        match &self.bar {
            Some(b) if !b.is_hidden() => b.println(line),
            _ => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Observer for Terminal {
    fn on_event(&mut self, e: &Event) {
        if self.quiet {
            return;
        }
        match e {
            Event::Note { message, .. } => self.println(format!("· {message}")),
            Event::Phase { name, total } => {
                self.finish();
                let bar = match total {
                    Some(t) => ProgressBar::new(*t),
                    None => ProgressBar::new_spinner(),
                };
                // Phases counted in bytes (a download, a file read as it is predicted)
                // show a rate and the time left.
                let template = if name.starts_with("download") || name == "predict-file" {
                    "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
                } else {
                    "{msg:>12} [{bar:30}] {pos}/{len} {wide_msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(name.clone());
                self.bar = Some(bar);
            }
            Event::Advance { done, .. } => {
                if let Some(b) = &self.bar {
                    b.set_position(*done);
                }
            }
            Event::Step(s) => {
                if let Some(b) = &self.bar {
                    b.set_position(s.step as u64);
                    if let Ok(style) = ProgressStyle::with_template(
                        "{prefix:>12} [{bar:30}] {pos}/{len} steps  {msg}",
                    ) {
                        b.set_style(style.progress_chars("=> "));
                    }
                    b.set_prefix(format!("epoch {}", s.epoch));
                    b.set_message(format!(
                        "loss {:.4}  lr {:.1e}  eta {}",
                        s.loss,
                        s.lr,
                        human_secs(s.eta_secs)
                    ));
                }
            }
            Event::Epoch(ep) => self.println(format!(
                "epoch {}/{}: train loss {:.4}  validation loss {:.4}  accuracy {:.4}  macro-F1 {:.4}{}",
                ep.epoch,
                ep.epochs,
                ep.train_loss,
                ep.val_loss,
                ep.val_accuracy,
                ep.val_macro_f1,
                if ep.best { "  (best so far, kept)" } else { "" }
            )),
            Event::Overfitting(o) => self.println(format!("· {}", o.message())),
        }
    }
}

/// "1h 02m", "3m 05s", "12s".
pub fn human_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// What to say after a score measured on `m`: nothing when every label has enough
/// texts, else that the score is too small to trust.
pub fn trust_note(m: &studio_core::classify::eval::Metrics) -> String {
    if m.too_small_to_trust() {
        format!(
            " (too few to trust: {} texts of the rarest label, under {} a label)",
            m.rarest_label_count(),
            studio_core::ops::MIN_TRUSTED_PER_LABEL
        )
    } else {
        String::new()
    }
}

/// A score as a percentage, or "—" when there is none (never 0.0% for a missing score).
pub fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// The `n` words that weigh most for the predicted label and the `n` that weigh most
/// against it, as "+word (0.31) … −word (0.05)".
pub fn weighted_words(words: &[studio_core::classify::explain::WordWeight], n: usize) -> String {
    let mut by: Vec<&studio_core::classify::explain::WordWeight> = words.iter().collect();
    by.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let fmt =
        |w: &&studio_core::classify::explain::WordWeight| format!("{} ({:+.3})", w.word, w.weight);
    let pro: Vec<String> = by
        .iter()
        .filter(|w| w.weight > 0.0)
        .take(n)
        .map(fmt)
        .collect();
    let con: Vec<String> = by
        .iter()
        .rev()
        .filter(|w| w.weight < 0.0)
        .take(n)
        .map(fmt)
        .collect();
    format!(
        "for: {}; against: {}",
        if pro.is_empty() {
            "-".into()
        } else {
            pro.join(", ")
        },
        if con.is_empty() {
            "-".into()
        } else {
            con.join(", ")
        }
    )
}
