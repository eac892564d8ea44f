//! The graph's edges in a compact form: one list in the order the edges were added,
//! deduplicated (the first reason of a `(from, to)` pair wins, self-loops dropped), an edge's id
//! being its position; and rows of every node's edges, newest first, made when first asked for.
//!
//! Deduplicating groups the edges by their source (a counting sort) and keeps the first
//! occurrence of each target per source with one marker per node, instead of a hash set of
//! every pair: a large workspace has hundreds of thousands of edges, and memory a process
//! touches for the first time costs more than the work done in it.

use std::sync::OnceLock;

use crate::{EdgeReason, ItemId};

/// `(from, to, reason)`: `to` depends on `from`.
pub(crate) type EdgeEnds = (u32, u32, EdgeReason);

#[derive(Debug)]
pub(crate) struct EdgeList {
    list: Vec<EdgeEnds>,
    nodes: usize,
    /// Each node's incoming edges (its dependencies), newest first.
    incoming: OnceLock<Rows>,
}

/// Edge ids grouped by node, newest first in each group.
#[derive(Debug)]
pub(crate) struct Rows {
    start: Vec<u32>,
    ids: Vec<u32>,
}

/// A [`Rows`] taken apart: the ids of node `n` are `ids[start[n]..start[n + 1]]`.
pub(crate) struct RowsParts {
    pub(crate) start: Vec<u32>,
    pub(crate) ids: Vec<u32>,
}

impl Rows {
    /// The ids of `list` grouped by `node_of(edge)`.
    pub(crate) fn new(nodes: usize, list: &[EdgeEnds], node_of: impl Fn(&EdgeEnds) -> u32) -> Rows {
        let mut start = vec![0_u32; nodes + 1];
        for edge in list {
            start[node_of(edge) as usize + 1] += 1;
        }
        for node in 0..nodes {
            start[node + 1] += start[node];
        }
        let mut next: Vec<u32> = start[..nodes].to_vec();
        let mut ids = vec![0_u32; list.len()];
        for (id, edge) in list.iter().enumerate().rev() {
            let slot = &mut next[node_of(edge) as usize];
            ids[*slot as usize] = id as u32;
            *slot += 1;
        }
        Rows { start, ids }
    }

    pub(crate) fn into_parts(self) -> RowsParts {
        RowsParts {
            start: self.start,
            ids: self.ids,
        }
    }

    /// The edge ids of `node`, newest first.
    pub(crate) fn of(&self, node: usize) -> &[u32] {
        &self.ids[self.start[node] as usize..self.start[node + 1] as usize]
    }
}

/// Edges in the order they were added, kept in chunks (one per module's references, say) so that
/// they are never copied into one list.
#[derive(Debug, Default)]
pub(crate) struct RawEdges {
    chunks: Vec<Vec<(ItemId, ItemId, EdgeReason)>>,
}

impl RawEdges {
    pub(crate) fn push(&mut self, edge: (ItemId, ItemId, EdgeReason)) {
        match self.chunks.last_mut() {
            Some(chunk) => chunk.push(edge),
            None => self.chunks.push(vec![edge]),
        }
    }

    /// Adds a chunk of edges after the ones added so far.
    pub(crate) fn append(&mut self, chunk: Vec<(ItemId, ItemId, EdgeReason)>) {
        if !chunk.is_empty() {
            self.chunks.push(chunk);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(ItemId, ItemId, EdgeReason)> {
        self.chunks.iter().flatten()
    }

    fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

impl EdgeList {
    /// The edges of `raw` between `nodes` nodes, without self-loops, each `(from, to)` pair
    /// once with its first reason, in the order of `raw`.
    #[cfg(test)]
    pub(crate) fn new(nodes: usize, raw: &[(ItemId, ItemId, EdgeReason)]) -> EdgeList {
        EdgeList::from_raw(
            nodes,
            &RawEdges {
                chunks: vec![raw.to_vec()],
            },
        )
    }

    /// [`EdgeList::new`] of the edges of `raw`, in their order.
    pub(crate) fn from_raw(nodes: usize, raw: &RawEdges) -> EdgeList {
        let count = raw.len();
        let mut start = vec![0_u32; nodes + 1];
        // The target of each edge, by position.
        let mut targets = Vec::with_capacity(count);
        for &(from, to, _) in raw.iter() {
            targets.push(to.0);
            if from != to {
                start[from.index() + 1] += 1;
            }
        }
        for node in 0..nodes {
            start[node + 1] += start[node];
        }
        let mut next: Vec<u32> = start[..nodes].to_vec();
        let mut by_source = vec![0_u32; start[nodes] as usize];
        for (index, &(from, to, _)) in raw.iter().enumerate() {
            if from != to {
                let slot = &mut next[from.index()];
                by_source[*slot as usize] = index as u32;
                *slot += 1;
            }
        }
        drop(next);
        let mut keep = vec![false; count];
        let mut kept = 0;
        // The last source that reached each target: a repeat within one source's group is a
        // duplicate pair.
        let mut last_source = vec![u32::MAX; nodes];
        for source in 0..nodes {
            for &index in &by_source[start[source] as usize..start[source + 1] as usize] {
                let to = targets[index as usize] as usize;
                if last_source[to] != source as u32 {
                    last_source[to] = source as u32;
                    keep[index as usize] = true;
                    kept += 1;
                }
            }
        }
        drop((by_source, targets, last_source, start));
        let mut list = Vec::with_capacity(kept);
        list.extend(
            raw.iter()
                .zip(&keep)
                .filter(|&(_, &kept)| kept)
                .map(|(&(from, to, reason), _)| (from.0, to.0, reason)),
        );
        EdgeList {
            list,
            nodes,
            incoming: OnceLock::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn nodes(&self) -> usize {
        self.nodes
    }

    /// Every edge, in id order.
    pub(crate) fn all(&self) -> &[EdgeEnds] {
        &self.list
    }

    pub(crate) fn get(&self, id: u32) -> EdgeEnds {
        self.list[id as usize]
    }

    /// The edges into `node` (its dependencies), newest first.
    pub(crate) fn incoming(&self, node: usize) -> impl Iterator<Item = EdgeEnds> + '_ {
        self.incoming
            .get_or_init(|| Rows::new(self.nodes, &self.list, |edge| edge.1))
            .of(node)
            .iter()
            .map(|&id| self.list[id as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_kept_once_with_their_first_reason_and_in_their_first_order() {
        let raw: Vec<(ItemId, ItemId, EdgeReason)> = [
            (2, 0, EdgeReason::Calls),
            (0, 1, EdgeReason::Uses),
            (0, 0, EdgeReason::Calls),
            (2, 0, EdgeReason::UsesType),
            (0, 2, EdgeReason::Calls),
            (0, 1, EdgeReason::NameMatch),
            (1, 2, EdgeReason::Contains),
        ]
        .into_iter()
        .map(|(from, to, reason)| (ItemId(from), ItemId(to), reason))
        .collect();
        let edges = EdgeList::new(3, &raw);
        assert_eq!(
            edges.all(),
            &[
                (2, 0, EdgeReason::Calls),
                (0, 1, EdgeReason::Uses),
                (0, 2, EdgeReason::Calls),
                (1, 2, EdgeReason::Contains),
            ]
        );
        // Newest first.
        let into_2: Vec<u32> = edges.incoming(2).map(|edge| edge.0).collect();
        assert_eq!(into_2, [1, 0]);
        let out = Rows::new(3, edges.all(), |edge| edge.0);
        assert_eq!(out.of(0), &[2, 1]);
        assert_eq!(out.of(1), &[3]);
        assert!(edges.incoming(1).all(|edge| edge.1 == 1));
    }
}
