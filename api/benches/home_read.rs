//! The CPU and allocation cost of a cached home read: `Home::read` over the in-memory ports
//! (a cached 100-entry timeline, bodies held by the process), then the page as the API sends
//! it (cursor sealed, JSON). The stores' round trips are what the load tests measure; this is
//! what the process adds to each.

use std::sync::Arc;

use divan::AllocProfiler;
use timeline_api::cursor::{CursorKey, CursorScope, page_response};
use timeline_model::fake::{Memory, fanout, home, id, post, world};
use timeline_model::fanout::TimelineEvent;
use timeline_model::follow::Follow;
use timeline_model::home::Rebuilds;
use timeline_model::ports::Follows;
use timeline_model::{Limit, Page, Tweet};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("a runtime")
}

/// bob follows ann, who posted 100 tweets; bob's timeline is cached and read once.
fn reader_with_100_entries(runtime: &tokio::runtime::Runtime) -> (Memory, Rebuilds) {
    runtime.block_on(async {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        for n in 0..100 {
            let tweet =
                post(&memory, "ann", &format!("tweet number {n} of a hundred, of a typical length")).await;
            fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet)).await.unwrap();
        }
        let rebuilds = Rebuilds::default();
        home(&memory, &rebuilds).read(&id("bob"), None, Limit::default()).await.unwrap();
        (memory, rebuilds)
    })
}

fn newest_20(runtime: &tokio::runtime::Runtime, memory: &Memory, rebuilds: &Rebuilds) -> Page<Arc<Tweet>> {
    runtime.block_on(home(memory, rebuilds).read(&id("bob"), None, Limit::default())).unwrap()
}

#[divan::bench]
fn read_newest_20(bencher: divan::Bencher) {
    let runtime = runtime();
    let (memory, rebuilds) = reader_with_100_entries(&runtime);
    bencher.bench_local(|| newest_20(&runtime, &memory, &rebuilds));
}

#[divan::bench]
fn page_of_20_as_json(bencher: divan::Bencher) {
    let runtime = runtime();
    let (memory, rebuilds) = reader_with_100_entries(&runtime);
    let page = newest_20(&runtime, &memory, &rebuilds);
    let (key, owner) = (CursorKey::new(b"a cursor key of the benchmark"), id("bob"));
    bencher
        .with_inputs(|| page.clone())
        .bench_local_values(|page| page_response(&key, &CursorScope::HomeTimeline(&owner), page));
}
