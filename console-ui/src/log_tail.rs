//! The log the dashboard keeps. Each record carries only the host's newest
//! lines; merging them by line number keeps a longer tail to scroll back
//! through, and marks where lines were missed between two polls.

use std::collections::VecDeque;

use spin_vmm::control::LogLine;

/// Lines kept.
pub const LOG_KEPT: usize = 2000;

/// The merged log, oldest line first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogTail {
    lines: VecDeque<LogLine>,
}

impl LogTail {
    /// Merges a record's lines (oldest first). Lines already held are
    /// skipped; a gap gets a `console` line saying how many were missed; a
    /// record from another host (line numbers going back) starts afresh.
    pub fn merge(&mut self, fresh: &[LogLine]) {
        let (Some(first), Some(newest)) = (fresh.first(), fresh.last()) else {
            return;
        };
        let mut last = self.lines.back().map_or(0, |l| l.seq);
        if newest.seq < last {
            self.lines.clear();
            last = 0;
        }
        if last > 0 && first.seq > last + 1 {
            let missed = first.seq - last - 1;
            self.push(LogLine {
                seq: first.seq - 1,
                host_ms: first.host_ms,
                source: "console".into(),
                text: format!("… {missed} line(s) missed between polls (refresh faster with +)"),
            });
        }
        for l in fresh.iter().filter(|l| l.seq > last) {
            self.push(l.clone());
        }
    }

    fn push(&mut self, l: LogLine) {
        if self.lines.len() == LOG_KEPT {
            self.lines.pop_front();
        }
        self.lines.push_back(l);
    }

    /// The lines, oldest first.
    pub fn lines(&self) -> &VecDeque<LogLine> {
        &self.lines
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64) -> LogLine {
        LogLine {
            seq,
            host_ms: seq * 10,
            source: "kernel".into(),
            text: format!("line {seq}"),
        }
    }

    fn seqs(t: &LogTail) -> Vec<u64> {
        t.lines().iter().map(|l| l.seq).collect()
    }

    #[test]
    fn merges_overlapping_records() {
        let mut t = LogTail::default();
        t.merge(&[line(1), line(2), line(3)]);
        t.merge(&[line(2), line(3), line(4)]);
        t.merge(&[]);
        assert_eq!(seqs(&t), [1, 2, 3, 4]);
    }

    #[test]
    fn marks_a_gap() {
        let mut t = LogTail::default();
        t.merge(&[line(1)]);
        t.merge(&[line(5), line(6)]);
        assert_eq!(seqs(&t), [1, 4, 5, 6]);
        assert!(t.lines()[1].text.contains("3 line(s) missed"));
        t.merge(&[line(6), line(7)]);
        assert_eq!(seqs(&t), [1, 4, 5, 6, 7]);
    }

    #[test]
    fn a_new_host_starts_afresh_and_the_tail_is_bounded() {
        let mut t = LogTail::default();
        t.merge(&(1..=LOG_KEPT as u64 + 10).map(line).collect::<Vec<_>>());
        assert_eq!(t.len(), LOG_KEPT);
        assert_eq!(t.lines()[0].seq, 11);
        t.merge(&[line(1), line(2)]);
        assert_eq!(seqs(&t), [1, 2]);
    }
}
