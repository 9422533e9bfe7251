//! `warm`: cached timelines refilled from the durable ones, after a failover brought an empty or
//! stale cache, so that the first reads after it are hits. Each user's cached copy is dropped
//! and rebuilt through the read path's own fill (`Home::fill`), so a warm racing fan-out writes
//! or readers behaves as a cache miss does.

use std::path::Path;
use std::sync::Mutex;

use timeline_model::UserId;
use timeline_model::bodies::Bodies;
use timeline_model::home::{Home, Rebuilds};
use timeline_model::ports::TimelineCache;

use super::progress::{Pacer, Progress};
use super::walk::{Selection, Walked};
use super::{Admin, AdminError, AdminResult};

/// What a warm wrote.
#[derive(Debug, Default)]
pub struct Warmed {
    pub users: usize,
    pub entries: usize,
}

/// The users of a file: one ID per line (blank lines and `#` comments skipped), `-` for stdin.
pub fn users_file(path: &Path) -> AdminResult<Vec<UserId>> {
    let read_error = |source| AdminError::ReadInput { path: path.to_owned(), source };
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(read_error)?
    } else {
        std::fs::read_to_string(path).map_err(read_error)?
    };
    let lines = text.lines().enumerate().map(|(n, line)| (n + 1, line.trim()));
    lines
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(line, raw)| {
            UserId::parse(raw).map_err(|source| AdminError::UsersFile { path: path.to_owned(), line, source })
        })
        .collect()
}

impl Admin {
    /// Refill each selected user's cached timeline, at most `pacer`'s rate of entries.
    pub async fn warm(
        &self,
        selection: Selection,
        pacer: &Pacer,
        progress: &Progress,
    ) -> AdminResult<(Warmed, Walked)> {
        // Bodies are not read here: the smallest cache will do.
        let (bodies, rebuilds) = (Bodies::with_capacity(1), Rebuilds::default());
        let home = Home {
            cache: &self.cache,
            store: &self.dynamo,
            tweets: &self.dynamo,
            bodies: &bodies,
            rebuilds: &rebuilds,
        };
        let warmed = Mutex::new(Warmed::default());
        let walked = self
            .walk(selection, async |user: UserId| {
                self.cache.evict(std::slice::from_ref(&user)).await?;
                let entries = home.fill(&user).await?;
                pacer.reserve(entries as u64).await;
                let mut warmed = warmed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                warmed.users += 1;
                warmed.entries += entries;
                progress.advance(1, &format!("{} entries cached", warmed.entries));
                Ok(())
            })
            .await?;
        Ok((warmed.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()), walked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_file_skips_blank_lines_and_comments_and_names_a_bad_line() {
        let dir = std::env::temp_dir().join(format!("timeline-warm-test-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.txt");
        std::fs::write(&path, "# active yesterday\nu-1\n\n  u-2  \n").unwrap();
        let users = users_file(&path).unwrap();
        assert_eq!(users, [UserId::parse("u-1").unwrap(), UserId::parse("u-2").unwrap()]);
        std::fs::write(&path, "u-1\nnot a user!\n").unwrap();
        let error = users_file(&path).unwrap_err();
        assert!(matches!(error, AdminError::UsersFile { line: 2, .. }), "{error:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
