//! Process trees over any backend: the backend reads who the children of a process are
//! (its [`ParentMap`]); walking down from the roots is done here, once for every OS.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};

/// Who the children of each process are, as a backend reads the process table.
pub enum ParentMap {
    /// ppid → children, sorted, read all at once (Linux: every `/proc/PID/stat`).
    Table(HashMap<u32, Vec<u32>>),
    /// Asked of the kernel one pid at a time (macOS: `proc_listchildpids`).
    Live(fn(u32) -> Vec<u32>),
}

impl ParentMap {
    /// The direct children of `pid`.
    pub fn children(&self, pid: u32) -> Cow<'_, [u32]> {
        match self {
            ParentMap::Table(t) => Cow::Borrowed(t.get(&pid).map_or(&[][..], Vec::as_slice)),
            ParentMap::Live(f) => Cow::Owned(f(pid)),
        }
    }
}

/// The roots and all their descendants, breadth-first: parents before children, each pid
/// once.
pub fn descendants(map: &ParentMap, roots: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<u32> = roots.iter().copied().collect();
    while let Some(pid) = queue.pop_front() {
        if !seen.insert(pid) {
            continue;
        }
        out.push(pid);
        queue.extend(map.children(pid).iter().copied());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_walked_breadth_first_once_each() {
        // 1 → 10, 11; 10 → 20; 11 → 10 (a pid listed twice is taken once).
        let map = ParentMap::Table(HashMap::from([
            (1, vec![10, 11]),
            (10, vec![20]),
            (11, vec![10]),
        ]));
        assert_eq!(descendants(&map, &[1]), [1, 10, 11, 20]);
        assert_eq!(descendants(&map, &[10, 1]), [10, 1, 20, 11]);
        assert_eq!(descendants(&map, &[99]), [99]);
        let live = ParentMap::Live(|pid| if pid == 5 { vec![6, 7] } else { Vec::new() });
        assert_eq!(descendants(&live, &[5]), [5, 6, 7]);
    }
}
