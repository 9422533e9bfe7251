//! The seeded social graph, generated in memory from a [`GraphSpec`]: who exists, who follows
//! whom, exact counters, and the roles the k6 scenarios pick their users from. Pure and
//! deterministic (one seed, one graph), so a second run writes the same items: seeding is
//! idempotent, and an interrupted run resumes by skipping what its checkpoint says is written.
//!
//! Three groups of users, all ids starting `ld-` so they never meet hand-made ones:
//! - the graph: `users` accounts ranked by popularity. Rank 1 is the celebrity, with one
//!   follower more than the fan-out threshold (merged at read time). Rank r >= 2 has
//!   `top_followers / (r - 1)^s` followers (Zipf's law with exponent s), drawn at random from
//!   the other graph users: a few authors with thousands of followers, most with one or none.
//! - active readers: for each followee count k, `readers` accounts that follow exactly the k
//!   most-followed regular authors (ranks 2 to k + 1), so read cost can be compared by k.
//! - burst authors, each with a few dedicated followers who follow no one else: their timelines
//!   hold only those authors' tweets, which is what the burst and lag scenarios watch.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index;
use timeline_model::{Follow, UserId, Username, ValidationError};

/// A bound on the graph's size: at DynamoDB Local's few thousand items a second, more would
/// take hours, which is a typo (an exponent near 0) rather than a plan.
pub const MAX_EDGES: usize = 20_000_000;

/// How many followers of each fan-out author the seed file lists for k6 to watch.
pub const FANOUT_SAMPLE: usize = 20;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphSpec {
    pub users: usize,
    pub zipf_exponent: f64,
    /// Followers of the most-followed regular author (rank 2).
    pub top_followers: usize,
    pub fanout_threshold: u64,
    pub readers: usize,
    pub reader_followees: Vec<usize>,
    pub fanout_targets: Vec<usize>,
    pub burst_authors: usize,
    pub burst_followers: usize,
    pub seed: u64,
}

/// Why a spec cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    #[error(
        "an author over the fan-out threshold needs {needed} followers, but {users} users leave at \
         most {room}: raise --users or lower TIMELINE_FANOUT_THRESHOLD"
    )]
    NoRoomForCelebrity { needed: u64, users: usize, room: usize },
    #[error(
        "the most-followed regular author would have {top} followers (readers included), over the \
         fan-out threshold {threshold}, and be merged at read time: lower --top-followers"
    )]
    TopOverThreshold { top: usize, threshold: u64 },
    #[error("a reader cannot follow {followees} regular authors: the graph has {authors}")]
    TooFewAuthors { followees: usize, authors: usize },
    #[error(
        "the graph would hold {edges} follow edges, more than {limit} (hours of writing): raise \
         --zipf-exponent or lower --top-followers or --users"
    )]
    TooManyEdges { edges: usize, limit: usize },
    #[error("a seeded name is invalid")]
    BadName(#[from] ValidationError),
}

/// One seeded account.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: UserId,
    pub username: Username,
}

/// An account and how many follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub user: usize,
    pub followers: u64,
}

/// A fan-out author and some of its followers.
#[derive(Debug, Clone, PartialEq)]
pub struct FanoutAuthor {
    pub user: usize,
    pub followers: u64,
    pub sample: Vec<usize>,
}

/// A burst author and its dedicated followers.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstGroup {
    pub author: usize,
    pub followers: Vec<usize>,
}

/// The roles, as indices into [`Graph::members`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roles {
    /// Active readers with their followee counts.
    pub readers: Vec<(usize, usize)>,
    /// Graph authors by follower count, descending: the celebrity, then ranks 2, 3, ...
    pub authors: Vec<Ranked>,
    pub celebrity: Option<Ranked>,
    pub fanout_authors: Vec<FanoutAuthor>,
    pub burst: Vec<BurstGroup>,
}

/// A generated graph. Edges are `(followee, follower)` indices into `members`.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub members: Vec<Member>,
    pub edges: Vec<(usize, usize)>,
    pub followers: Vec<u64>,
    pub following: Vec<u64>,
    pub roles: Roles,
}

impl Graph {
    pub fn generate(spec: &GraphSpec) -> Result<Self, GraphError> {
        check(spec)?;
        let mut builder = Builder {
            rng: StdRng::seed_from_u64(spec.seed),
            members: Vec::new(),
            edges: Vec::new(),
            roles: Roles::default(),
        };
        builder.graph_users(spec)?;
        builder.readers(spec)?;
        builder.burst(spec)?;
        Ok(builder.finish())
    }

    pub fn follow(&self, (followee, follower): (usize, usize)) -> Follow {
        Follow {
            followee_id: self.members[followee].id.clone(),
            follower_id: self.members[follower].id.clone(),
        }
    }

    /// The graph authors by rank (index 0 is rank 1), with their follower counts.
    pub fn ranked_authors(&self, count: usize) -> impl Iterator<Item = &Ranked> {
        self.roles.authors.iter().take(count)
    }
}

fn check(spec: &GraphSpec) -> Result<(), GraphError> {
    let room = spec.users.saturating_sub(1);
    let needed = spec.fanout_threshold.saturating_add(1);
    if needed > room as u64 {
        return Err(GraphError::NoRoomForCelebrity { needed, users: spec.users, room });
    }
    let top = spec.top_followers + spec.readers * spec.reader_followees.len();
    if top as u64 > spec.fanout_threshold {
        return Err(GraphError::TopOverThreshold { top, threshold: spec.fanout_threshold });
    }
    let edges: usize = (2..=spec.users).map(|rank| zipf_followers(spec, rank)).take_while(|&f| f > 0).sum();
    if edges > MAX_EDGES {
        return Err(GraphError::TooManyEdges { edges, limit: MAX_EDGES });
    }
    // Every rank from 2 up is an author once the threshold fits: there are `room` of them.
    if let Some(&followees) = spec.reader_followees.iter().find(|&&k| k > room) {
        return Err(GraphError::TooFewAuthors { followees, authors: room });
    }
    Ok(())
}

/// Followers of the author at `rank` (2 and up) under Zipf's law.
fn zipf_followers(spec: &GraphSpec, rank: usize) -> usize {
    let scale = ((rank - 1) as f64).powf(spec.zipf_exponent);
    (spec.top_followers as f64 / scale).floor() as usize
}

struct Builder {
    rng: StdRng,
    members: Vec<Member>,
    edges: Vec<(usize, usize)>,
    roles: Roles,
}

impl Builder {
    fn add(&mut self, id: String, username: String) -> Result<usize, GraphError> {
        let (id, username) = (UserId::parse(&id)?, Username::parse(&username)?);
        self.members.push(Member { id, username });
        Ok(self.members.len() - 1)
    }

    fn graph_users(&mut self, spec: &GraphSpec) -> Result<(), GraphError> {
        let width = spec.users.to_string().len().max(5);
        for rank in 1..=spec.users {
            self.add(format!("ld-u{rank:0width$}"), format!("ld_u{rank:0width$}"))?;
        }
        let celebrity = spec.fanout_threshold as usize + 1;
        for author in 0..spec.users {
            let followers = if author == 0 { celebrity } else { zipf_followers(spec, author + 1) };
            if followers == 0 {
                break;
            }
            self.follow_at_random(author, followers, spec.users);
        }
        self.roles.celebrity = self.roles.authors.first().cloned();
        self.roles.fanout_authors = self.fanout_authors(spec);
        Ok(())
    }

    /// `count` distinct followers of `author`, drawn from the other graph users.
    fn follow_at_random(&mut self, author: usize, count: usize, users: usize) {
        let followers: Vec<usize> = index::sample(&mut self.rng, users - 1, count)
            .into_iter()
            .map(|other| if other >= author { other + 1 } else { other })
            .collect();
        self.edges.extend(followers.iter().map(|&follower| (author, follower)));
        self.roles.authors.push(Ranked { user: author, followers: count as u64 });
    }

    /// For each target, the regular author whose follower count is nearest to it.
    fn fanout_authors(&self, spec: &GraphSpec) -> Vec<FanoutAuthor> {
        let regular = &self.roles.authors[1..];
        let nearest = |target: usize| {
            regular.iter().min_by_key(|author| (author.followers as i64 - target as i64).unsigned_abs())
        };
        spec.fanout_targets
            .iter()
            .filter_map(|&target| nearest(target))
            .map(|author| FanoutAuthor {
                user: author.user,
                followers: author.followers,
                sample: self
                    .edges
                    .iter()
                    .filter(|(followee, _)| *followee == author.user)
                    .map(|&(_, follower)| follower)
                    .take(FANOUT_SAMPLE)
                    .collect(),
            })
            .fold(Vec::new(), |mut unique, author| {
                // Two targets can land on one author in a small graph: list it once.
                if !unique.iter().any(|seen: &FanoutAuthor| seen.user == author.user) {
                    unique.push(author);
                }
                unique
            })
    }

    fn readers(&mut self, spec: &GraphSpec) -> Result<(), GraphError> {
        let width = spec.readers.to_string().len().max(3);
        for &followees in &spec.reader_followees {
            for n in 1..=spec.readers {
                let reader =
                    self.add(format!("ld-r{followees}-{n:0width$}"), format!("ld_r{followees}_{n:0width$}"))?;
                // Ranks 2 to k + 1 are members 1 to k.
                self.edges.extend((1..=followees).map(|author| (author, reader)));
                self.roles.readers.push((reader, followees));
            }
        }
        Ok(())
    }

    fn burst(&mut self, spec: &GraphSpec) -> Result<(), GraphError> {
        for b in 1..=spec.burst_authors {
            let author = self.add(format!("ld-b{b:02}"), format!("ld_b{b:02}"))?;
            let mut followers = Vec::with_capacity(spec.burst_followers);
            for f in 1..=spec.burst_followers {
                let follower = self.add(format!("ld-b{b:02}-f{f}"), format!("ld_b{b:02}_f{f}"))?;
                self.edges.push((author, follower));
                followers.push(follower);
            }
            self.roles.burst.push(BurstGroup { author, followers });
        }
        Ok(())
    }

    /// Count every edge, and give the roles their exact counts (readers follow the top
    /// authors on top of their Zipf followers).
    fn finish(mut self) -> Graph {
        let mut followers = vec![0; self.members.len()];
        let mut following = vec![0; self.members.len()];
        for &(followee, follower) in &self.edges {
            followers[followee] += 1;
            following[follower] += 1;
        }
        let roles = &mut self.roles;
        for author in roles.authors.iter_mut().chain(roles.celebrity.as_mut()) {
            author.followers = followers[author.user];
        }
        for author in &mut roles.fanout_authors {
            author.followers = followers[author.user];
        }
        roles.authors.sort_by_key(|author| std::cmp::Reverse(author.followers));
        Graph { members: self.members, edges: self.edges, followers, following, roles: self.roles }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn spec() -> GraphSpec {
        GraphSpec {
            users: 2_000,
            zipf_exponent: 1.0,
            top_followers: 994,
            fanout_threshold: 1_000,
            readers: 3,
            reader_followees: vec![10, 100],
            fanout_targets: vec![10, 100, 1_000],
            burst_authors: 4,
            burst_followers: 3,
            seed: 7,
        }
    }

    #[test]
    fn one_seed_gives_one_graph() {
        assert_eq!(Graph::generate(&spec()).unwrap(), Graph::generate(&spec()).unwrap());
        let other = Graph::generate(&GraphSpec { seed: 8, ..spec() }).unwrap();
        assert_ne!(other.edges, Graph::generate(&spec()).unwrap().edges);
    }

    #[test]
    fn edges_are_distinct_and_never_self_follows() {
        let graph = Graph::generate(&spec()).unwrap();
        let unique: HashSet<_> = graph.edges.iter().collect();
        assert_eq!(unique.len(), graph.edges.len());
        assert!(graph.edges.iter().all(|(followee, follower)| followee != follower));
    }

    #[test]
    fn counters_are_exact() {
        let graph = Graph::generate(&spec()).unwrap();
        for (user, &count) in graph.followers.iter().enumerate() {
            assert_eq!(count, graph.edges.iter().filter(|(followee, _)| *followee == user).count() as u64);
        }
        for (user, &count) in graph.following.iter().enumerate() {
            assert_eq!(count, graph.edges.iter().filter(|(_, follower)| *follower == user).count() as u64);
        }
    }

    #[test]
    fn followers_follow_zipfs_law_with_one_celebrity_over_the_threshold() {
        let graph = Graph::generate(&spec()).unwrap();
        let celebrity = graph.roles.celebrity.clone().unwrap();
        assert_eq!(celebrity.followers, 1_001);
        assert_eq!(graph.followers[celebrity.user], 1_001);
        // Graph followers only: readers follow the top authors on top of Zipf's counts.
        let graph_followers = |author: usize| {
            graph.edges.iter().filter(|&&(followee, follower)| followee == author && follower < 2_000).count()
        };
        let zipf: Vec<usize> = (1..2_000).map(graph_followers).collect();
        assert_eq!(&zipf[..4], &[994, 497, 331, 248]);
        assert!(zipf.windows(2).all(|pair| pair[0] >= pair[1]));
        let authors = &graph.roles.authors;
        assert!(authors.windows(2).all(|pair| pair[0].followers >= pair[1].followers));
        assert_eq!(authors[1].followers, 1_000, "994 and 6 readers: at the threshold, not over it");
    }

    #[test]
    fn readers_follow_exactly_their_count_of_regular_authors() {
        let graph = Graph::generate(&spec()).unwrap();
        assert_eq!(graph.roles.readers.len(), 6);
        for &(reader, followees) in &graph.roles.readers {
            assert_eq!(graph.following[reader], followees as u64);
            let followed: Vec<usize> =
                graph.edges.iter().filter(|(_, f)| *f == reader).map(|&(followee, _)| followee).collect();
            assert_eq!(followed, (1..=followees).collect::<Vec<_>>(), "ranks 2..=k+1, never the celebrity");
        }
    }

    #[test]
    fn fanout_authors_are_the_nearest_with_real_followers_in_the_sample() {
        let graph = Graph::generate(&spec()).unwrap();
        let counts: Vec<u64> = graph.roles.fanout_authors.iter().map(|a| a.followers).collect();
        assert_eq!(counts, vec![13, 105, 1_000], "the nearest Zipf counts (10, 99, 994), readers added");
        for author in &graph.roles.fanout_authors {
            assert_eq!(author.followers, graph.followers[author.user]);
            assert!(!author.sample.is_empty() && author.sample.len() <= FANOUT_SAMPLE);
            assert!(author.sample.iter().all(|f| graph.edges.contains(&(author.user, *f))));
        }
    }

    #[test]
    fn burst_followers_follow_only_their_author() {
        let graph = Graph::generate(&spec()).unwrap();
        assert_eq!(graph.roles.burst.len(), 4);
        for group in &graph.roles.burst {
            assert_eq!(graph.followers[group.author], 3);
            assert!(group.followers.iter().all(|&f| graph.following[f] == 1));
        }
    }

    #[test]
    fn impossible_specs_say_what_to_change() {
        let small = GraphSpec { users: 500, ..spec() };
        assert_eq!(
            Graph::generate(&small).unwrap_err(),
            GraphError::NoRoomForCelebrity { needed: 1_001, users: 500, room: 499 }
        );
        let over = GraphSpec { top_followers: 995, ..spec() };
        assert!(matches!(Graph::generate(&over), Err(GraphError::TopOverThreshold { .. })));
        let flat = GraphSpec { users: 200_000, top_followers: 994, zipf_exponent: 0.01, ..spec() };
        assert!(matches!(Graph::generate(&flat), Err(GraphError::TooManyEdges { .. })));
        let readers = GraphSpec { reader_followees: vec![5_000], ..spec() };
        assert!(matches!(Graph::generate(&readers), Err(GraphError::TooFewAuthors { .. })));
    }
}
