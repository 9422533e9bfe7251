//! The seeder behind `timeline-seed`: a social graph written straight to DynamoDB through the
//! store's own adapters (the same items the service writes), for the load tests.
//!
//! - [`args`]: the command line.
//! - [`graph`]: the graph generated in memory: users, follow edges, exact counters, roles.
//! - [`load`]: writing it stage by stage (profiles, follows, history), with progress.
//! - [`checkpoint`]: how far a run got, so that a stopped run resumes.
//! - [`file`]: the seed file for k6: users, tokens, roles.

pub mod args;
pub mod checkpoint;
pub mod file;
pub mod graph;
pub mod load;

use std::path::PathBuf;
use std::time::Instant;

use timeline_fanout::Engine;
use timeline_model::ValidationError;
use timeline_model::ports::StoreError;
use timeline_store::{Dynamo, LocalSettings, RedisCache, Streams};

use checkpoint::Checkpoint;

/// Why seeding stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Graph(#[from] graph::GraphError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("a history tweet could not be built")]
    History(#[from] ValidationError),
}

pub type SeedResult<T> = Result<T, SeedError>;

/// Generate the graph, write what the checkpoint does not mark done, then the seed file.
pub async fn run(args: &args::Args, settings: &LocalSettings) -> SeedResult<()> {
    let started = Instant::now();
    let store = &settings.api.store;
    if args.empty_timelines {
        let dynamo = Dynamo::connect(store).await;
        dynamo.delete_timelines_table().await?;
        dynamo.create_tables(Streams::On).await?;
        eprintln!("timelines table emptied in {:.1} s", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let spec = args.graph_spec(store.fanout_threshold);
    let graph = graph::Graph::generate(&spec)?;
    eprintln!(
        "graph: {} users ({} graph, {} readers, {} burst), {} follow edges",
        graph.members.len(),
        spec.users,
        graph.roles.readers.len(),
        graph.members.len() - spec.users - graph.roles.readers.len(),
        graph.edges.len(),
    );
    let history = load::History { authors: args.history_authors(), tweets: args.history };
    let fingerprint = format!("{spec:?} {history:?} {:?} {:?}", store.dynamodb_endpoint, store.table_prefix);
    let checkpoint_path = PathBuf::from(format!("{}.checkpoint", args.out.display()));
    let mut checkpoint = match Checkpoint::load(&checkpoint_path, &fingerprint) {
        Some(saved) if !args.fresh => {
            eprintln!("resuming from {}", checkpoint_path.display());
            saved
        }
        _ => Checkpoint::fresh(fingerprint, unix_millis()),
    };
    if let Some(dir) = checkpoint_path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| SeedError::Write { path: dir.to_owned(), source })?;
    }

    let dynamo = Dynamo::connect(store).await;
    let engine = Engine::new(dynamo.clone(), RedisCache::connect(store).await?, store.fanout_threshold);
    let loader =
        load::Loader { dynamo: &dynamo, engine: &engine, graph: &graph, checkpoint_path: &checkpoint_path };
    loader.run(&mut checkpoint, history).await?;

    let secret = settings.jwt_secret.expose();
    let token = |user: &str| timeline_service::tokens::mint(secret, user, args.token_ttl);
    file::SeedFile::new(&graph, &spec, args.history, &store.table_prefix, token).write(&args.out)?;
    eprintln!("seeded in {:.1} s; seed file: {}", started.elapsed().as_secs_f64(), args.out.display());
    Ok(())
}

fn unix_millis() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
