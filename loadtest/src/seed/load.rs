//! Writing a generated graph through the store's own adapters, stage by stage, chunk by chunk,
//! with a progress bar on a terminal and the checkpoint saved after every chunk.
//!
//! The tables are created with their streams off when this run creates them: DynamoDB Local
//! writes stream-enabled tables several times slower, and a seed written through the streams
//! would leave the fan-out a backlog of hundreds of thousands of follow records to replay before
//! the first measurement. The history is fanned out here, by the fan-out Lambda's own `Engine`
//! on the real adapters, exactly as the stream consumer would; then the streams are turned on and the
//! service's consumer takes over. Against tables whose streams are already on (a running
//! `make dev`), every write goes through the streams and the service fans the history out.

use std::path::Path;

use futures::{StreamExt, TryStreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use timeline_fanout::Engine;
use timeline_model::fanout::TimelineEvent;
use timeline_model::ports::{TimelineStore, Tweets};
use timeline_model::{DisplayName, Timestamp, Tweet, TweetId, TweetText, User};
use timeline_store::{Dynamo, Streams};

use super::checkpoint::Checkpoint;
use super::graph::Graph;
use super::{SeedError, SeedResult};

const PROFILES_PER_CHUNK: usize = 2_000;
const EDGES_PER_CHUNK: usize = 5_000;
const AUTHORS_PER_CHUNK: usize = 25;
/// Fan-outs in flight: each one already keeps several batch writes in flight.
const FANOUTS_IN_FLIGHT: usize = 8;
/// The history is spread over the hour before the seed, one tweet per author a minute.
const HISTORY_SPACING_MS: u64 = 60_000;

/// The history to write: `tweets` each for the `authors` most-followed graph accounts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    pub authors: usize,
    pub tweets: usize,
}

/// The stores, the graph, and where to keep the checkpoint.
pub struct Loader<'a> {
    pub dynamo: &'a Dynamo,
    /// The fan-out Lambda's engine, for the history.
    pub engine: &'a Engine,
    pub graph: &'a Graph,
    pub checkpoint_path: &'a Path,
}

impl Loader<'_> {
    /// Write every stage the checkpoint does not mark done.
    pub async fn run(&self, checkpoint: &mut Checkpoint, history: History) -> SeedResult<()> {
        let streaming = self.create_tables().await?;
        self.profiles(checkpoint).await?;
        self.follows(checkpoint).await?;
        self.history(checkpoint, history, streaming).await?;
        if !checkpoint.streams_on {
            let enabled = self.dynamo.enable_streams().await?;
            eprintln!("streams: {enabled} turned on; the service's stream consumer takes over from here");
            checkpoint.streams_on = true;
            self.save(checkpoint)?;
        }
        Ok(())
    }

    /// Create missing tables with streams off; say whether the existing ones stream already.
    async fn create_tables(&self) -> SeedResult<bool> {
        self.dynamo.create_tables(Streams::Off).await?;
        let [tweets, _] = self.dynamo.streamed_tables();
        let streaming = self.dynamo.stream_arn(tweets).await?.is_some();
        if streaming {
            eprintln!(
                "note: the tables' streams are on (a running service made them): the seed goes through \
                 the streams, and the service fans the history out (slower than a fresh seed)"
            );
        }
        Ok(streaming)
    }

    async fn profiles(&self, checkpoint: &mut Checkpoint) -> SeedResult<()> {
        let created_at = Timestamp::from_unix_millis(checkpoint.started_ms);
        let graph = self.graph;
        let users: Vec<User> = (0..graph.members.len())
            .map(|index| {
                let member = &graph.members[index];
                User {
                    user_id: member.id.clone(),
                    username: member.username.clone(),
                    display_name: DisplayName::default(),
                    created_at,
                    followers_count: graph.followers[index],
                    following_count: graph.following[index],
                    merged_at_read: self.merged_at_read(index),
                    // Not recorded: deletes of its tweets fan out, the safe side.
                    merged_since: None,
                }
            })
            .collect();
        let done = checkpoint.profiles;
        let bar = progress("profiles", users.len(), done);
        for chunk in users[done..].chunks(PROFILES_PER_CHUNK) {
            self.dynamo.put_profiles(chunk).await?;
            checkpoint.profiles += chunk.len();
            self.save(checkpoint)?;
            bar.inc(chunk.len() as u64);
        }
        finish(&bar, "profiles", users.len() - done);
        Ok(())
    }

    /// Whether the graph member at `index` starts out merged in at read time (over the
    /// threshold), as a crossing would have left it.
    fn merged_at_read(&self, index: usize) -> bool {
        self.graph.followers[index] > self.engine.fanout_threshold()
    }

    async fn follows(&self, checkpoint: &mut Checkpoint) -> SeedResult<()> {
        let edges = &self.graph.edges;
        let done = checkpoint.follows;
        let bar = progress("follows", edges.len(), done);
        for chunk in edges[done..].chunks(EDGES_PER_CHUNK) {
            let follows: Vec<_> = chunk.iter().map(|&edge| self.graph.follow(edge)).collect();
            // Each follower of a merged author lists it, as the follows consumer would.
            let merged: Vec<_> = chunk
                .iter()
                .filter(|&&(followee, _)| self.merged_at_read(followee))
                .map(|&e| self.graph.follow(e))
                .collect();
            futures::future::try_join(
                self.dynamo.put_follow_edges(&follows),
                self.dynamo.insert_merged(&merged),
            )
            .await?;
            checkpoint.follows += chunk.len();
            self.save(checkpoint)?;
            bar.inc(chunk.len() as u64);
        }
        finish(&bar, "follows", edges.len() - done);
        Ok(())
    }

    /// Each author's history tweets, stored and (streams off) fanned out here.
    async fn history(
        &self,
        checkpoint: &mut Checkpoint,
        history: History,
        streaming: bool,
    ) -> SeedResult<()> {
        let authors: Vec<usize> = self.graph.ranked_authors(history.authors).map(|a| a.user).collect();
        if history.tweets == 0 || authors.is_empty() {
            return Ok(());
        }
        let done = checkpoint.history_authors.min(authors.len());
        let bar = progress("history", authors.len() * history.tweets, done * history.tweets);
        for chunk in authors[done..].chunks(AUTHORS_PER_CHUNK) {
            let tweets: Vec<Tweet> = chunk
                .iter()
                .flat_map(|&author| (0..history.tweets).map(move |n| (author, n)))
                .map(|(author, n)| self.history_tweet(checkpoint.started_ms, author, n, history.tweets))
                .collect::<SeedResult<_>>()?;
            stream::iter(&tweets)
                .map(|tweet| self.store_and_fan_out(tweet, streaming))
                .buffer_unordered(FANOUTS_IN_FLIGHT)
                .inspect_ok(|()| bar.inc(1))
                .try_collect::<()>()
                .await?;
            checkpoint.history_authors += chunk.len();
            self.save(checkpoint)?;
        }
        finish(&bar, "history tweets", (authors.len() - done) * history.tweets);
        Ok(())
    }

    /// Tweet `n` of `count` by `author`, with an ID derived from the run's clock, the author
    /// and `n`: a resumed run writes the same tweet, which the store then keeps once.
    fn history_tweet(&self, started_ms: u64, author: usize, n: usize, count: usize) -> SeedResult<Tweet> {
        let member = &self.graph.members[author];
        let at_ms = started_ms - (count - n) as u64 * HISTORY_SPACING_MS;
        let random = (author as u128) << 32 | n as u128;
        let tweet_id = TweetId::parse(&ulid::Ulid::from_parts(at_ms, random).to_string())?;
        let text = TweetText::parse(&format!("history {} of {count} by {}", n + 1, member.username))?;
        Ok(Tweet {
            tweet_id,
            author_id: member.id.clone(),
            author_username: member.username.clone(),
            text,
            created_at: tweet_id.created_at(),
        })
    }

    async fn store_and_fan_out(&self, tweet: &Tweet, streaming: bool) -> SeedResult<()> {
        Tweets::create(self.dynamo, tweet).await?;
        if streaming {
            return Ok(());
        }
        self.engine.apply(&TimelineEvent::TweetPosted(tweet.clone())).await?;
        Ok(())
    }

    fn save(&self, checkpoint: &Checkpoint) -> SeedResult<()> {
        checkpoint
            .save(self.checkpoint_path)
            .map_err(|source| SeedError::Write { path: self.checkpoint_path.to_owned(), source })
    }
}

/// A bar on a terminal; indicatif draws nothing when stderr is not one (CI, logs).
fn progress(stage: &str, total: usize, done: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64).with_position(done as u64).with_prefix(stage.to_owned());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// One line per stage, also where no bar was drawn.
fn finish(bar: &ProgressBar, what: &str, written: usize) {
    let seconds = bar.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let rate = if seconds > 0.0 { written as f64 / seconds } else { 0.0 };
    eprintln!("{what}: {written} written in {seconds:.1} s ({rate:.0}/s)");
}
