//! The seed file: every seeded user with a local bearer token, and the roles the k6 scenarios
//! pick their users from (format: loadtest/README.md, "The seed file"). k6 reads it once per
//! run; nothing else does.

use std::path::Path;

use serde::Serialize;

use super::graph::{Graph, GraphSpec};
use super::{SeedError, SeedResult};

/// Bumped when a field changes meaning; the scripts refuse other versions.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
pub struct SeedFile<'a> {
    version: u32,
    graph: GraphFacts<'a>,
    users: Vec<SeededUser<'a>>,
    roles: Roles<'a>,
}

#[derive(Serialize)]
struct GraphFacts<'a> {
    users: usize,
    edges: usize,
    zipf_exponent: f64,
    seed: u64,
    fanout_threshold: u64,
    history: usize,
    table_prefix: &'a str,
}

#[derive(Serialize)]
struct SeededUser<'a> {
    id: &'a str,
    username: &'a str,
    token: String,
}

#[derive(Serialize)]
struct Roles<'a> {
    readers: Vec<Reader<'a>>,
    authors: Vec<Author<'a>>,
    celebrity: Option<Author<'a>>,
    fanout_authors: Vec<FanoutAuthor<'a>>,
    burst: Vec<Burst<'a>>,
}

#[derive(Serialize)]
struct Reader<'a> {
    id: &'a str,
    followees: usize,
}

#[derive(Serialize)]
struct Author<'a> {
    id: &'a str,
    followers: u64,
}

#[derive(Serialize)]
struct FanoutAuthor<'a> {
    id: &'a str,
    followers: u64,
    sample: Vec<&'a str>,
}

#[derive(Serialize)]
struct Burst<'a> {
    author: &'a str,
    followers: Vec<&'a str>,
}

/// How many of the top authors the file lists.
const LISTED_AUTHORS: usize = 100;

impl<'a> SeedFile<'a> {
    /// The file's content; `token` mints a bearer token for a user ID.
    pub fn new(
        graph: &'a Graph,
        spec: &GraphSpec,
        history: usize,
        table_prefix: &'a str,
        token: impl Fn(&str) -> String,
    ) -> Self {
        let id = |index: usize| graph.members[index].id.as_str();
        let author =
            |ranked: &super::graph::Ranked| Author { id: id(ranked.user), followers: ranked.followers };
        let roles = &graph.roles;
        Self {
            version: VERSION,
            graph: GraphFacts {
                users: spec.users,
                edges: graph.edges.len(),
                zipf_exponent: spec.zipf_exponent,
                seed: spec.seed,
                fanout_threshold: spec.fanout_threshold,
                history,
                table_prefix,
            },
            users: graph
                .members
                .iter()
                .map(|m| SeededUser {
                    id: m.id.as_str(),
                    username: m.username.as_str(),
                    token: token(m.id.as_str()),
                })
                .collect(),
            roles: Roles {
                readers: roles
                    .readers
                    .iter()
                    .map(|&(user, followees)| Reader { id: id(user), followees })
                    .collect(),
                authors: roles.authors.iter().take(LISTED_AUTHORS).map(author).collect(),
                celebrity: roles.celebrity.as_ref().map(author),
                fanout_authors: roles
                    .fanout_authors
                    .iter()
                    .map(|a| FanoutAuthor {
                        id: id(a.user),
                        followers: a.followers,
                        sample: a.sample.iter().map(|&f| id(f)).collect(),
                    })
                    .collect(),
                burst: roles
                    .burst
                    .iter()
                    .map(|b| Burst {
                        author: id(b.author),
                        followers: b.followers.iter().map(|&f| id(f)).collect(),
                    })
                    .collect(),
            },
        }
    }

    pub fn write(&self, path: &Path) -> SeedResult<()> {
        let failed = |source| SeedError::Write { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let json = serde_json::to_vec(self).map_err(std::io::Error::other).map_err(failed)?;
        std::fs::write(path, json).map_err(failed)
    }
}
