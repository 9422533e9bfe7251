//! The shards of one stream and which of them may be read: a child only once its parent has
//! been read to its end (or is no longer listed), so a key's changes are applied in order.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Reading,
    Finished,
}

#[derive(Debug)]
struct Shard {
    parent: Option<String>,
    state: State,
}

#[derive(Debug, Default)]
pub struct ShardSet {
    shards: BTreeMap<String, Shard>,
}

impl ShardSet {
    /// Add a shard from a listing of the stream; one already known is left as it is.
    pub fn add(&mut self, shard_id: String, parent: Option<String>) {
        self.shards.entry(shard_id).or_insert(Shard { parent, state: State::Waiting });
    }

    /// The shards that may be read now, marked as being read.
    pub fn start_ready(&mut self) -> Vec<String> {
        let ready: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, shard)| shard.state == State::Waiting && self.parent_finished(shard))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ready {
            self.set_state(id, State::Reading);
        }
        ready
    }

    /// `shard_id` was read to its end: its children may start.
    pub fn finish(&mut self, shard_id: &str) {
        self.set_state(shard_id, State::Finished);
    }

    fn parent_finished(&self, shard: &Shard) -> bool {
        let parent = shard.parent.as_ref().and_then(|id| self.shards.get(id));
        parent.is_none_or(|parent| parent.state == State::Finished)
    }

    fn set_state(&mut self, shard_id: &str, state: State) {
        if let Some(shard) = self.shards.get_mut(shard_id) {
            shard.state = state;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_starts_only_when_its_parent_is_finished() {
        let mut shards = ShardSet::default();
        shards.add("parent".into(), None);
        shards.add("child".into(), Some("parent".into()));
        assert_eq!(shards.start_ready(), ["parent"]);
        assert!(shards.start_ready().is_empty(), "the parent is being read; the child waits");
        shards.finish("parent");
        assert_eq!(shards.start_ready(), ["child"]);
        assert!(shards.start_ready().is_empty(), "each shard is started once");
    }

    #[test]
    fn a_shard_whose_parent_is_no_longer_listed_starts_at_once() {
        let mut shards = ShardSet::default();
        shards.add("orphan".into(), Some("trimmed-away".into()));
        shards.add("sibling".into(), None);
        assert_eq!(shards.start_ready(), ["orphan", "sibling"]);
    }

    #[test]
    fn listing_a_known_shard_again_keeps_its_state() {
        let mut shards = ShardSet::default();
        shards.add("only".into(), None);
        assert_eq!(shards.start_ready(), ["only"]);
        shards.add("only".into(), None);
        assert!(shards.start_ready().is_empty());
    }
}
