//! One connection type over standalone Redis and Redis Cluster (ElastiCache Serverless is a
//! cluster, TLS only: `rediss://`). Both connect on first use, reconnect by themselves and time
//! out fast, so a process starts while Redis is down and a Redis outage degrades reads to
//! DynamoDB instead of hanging them or failing the start.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// How long to wait for Redis before giving up on it for this request.
const TIMEOUT: Duration = Duration::from_millis(1000);

#[derive(Clone)]
pub enum Connection {
    Standalone(ConnectionManager),
    Cluster(LazyCluster),
}

/// A cluster connection made on first use: the client's own connect reads the cluster's
/// topology at once, so it cannot be made while the cluster is down. A failed attempt is
/// made again by the next call (the cache's breaker spaces them out).
#[derive(Clone)]
pub struct LazyCluster(Arc<ClusterState>);

struct ClusterState {
    client: ClusterClient,
    connection: tokio::sync::OnceCell<ClusterConnection>,
}

impl LazyCluster {
    /// The shared connection, connecting first if no call has yet.
    pub async fn get(&self) -> redis::RedisResult<ClusterConnection> {
        let connect = || self.0.client.get_async_connection();
        self.0.connection.get_or_try_init(connect).await.cloned()
    }
}

impl Connection {
    /// A connection to `url`, made on first use, so that a process can start (and serve from
    /// DynamoDB) while Redis is down. Only a malformed URL fails here.
    pub fn open(url: &str, cluster: bool) -> redis::RedisResult<Self> {
        if cluster {
            let client = ClusterClient::builder(vec![url])
                .connection_timeout(TIMEOUT)
                .response_timeout(TIMEOUT)
                .retries(2)
                .build()?;
            let state = ClusterState { client, connection: tokio::sync::OnceCell::new() };
            return Ok(Self::Cluster(LazyCluster(Arc::new(state))));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let manager = ConnectionManager::new_lazy_with_config(redis::Client::open(url)?, config)?;
        Ok(Self::Standalone(manager))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(c) => c.req_packed_command(cmd),
            Self::Cluster(lazy) => Box::pin(async move { lazy.get().await?.req_packed_command(cmd).await }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(lazy) => {
                Box::pin(async move { lazy.get().await?.req_packed_commands(pipeline, offset, count).await })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(c) => c.get_db(),
            Self::Cluster(_) => 0, // A cluster has only database 0.
        }
    }
}
