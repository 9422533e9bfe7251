//! `restore`: the source-of-truth tables of a backup copied into this deployment's.
//!
//! DynamoDB restores a backup only into new tables (a point-in-time restore, or an import of
//! one of the stack's S3 exports), and the stack owns its tables by name with streams that feed
//! the fan-out. So the operator restores or imports beside them under another prefix, and this
//! copies each item in with a put: what the backup holds is written back, what was written
//! since is left alone. The copies go through the tables' streams like any write (a tweet that
//! was lost fans out again, a follow backfills), and `rebuild --all` afterwards makes every
//! timeline exactly the truth, including the timelines table, which backups leave out (it is
//! derived). Copying twice writes the same items twice, so a stopped run is simply run again.

use futures::future::try_join_all;
use timeline_store::dynamo::{Segment, TableNames};

use super::progress::{Pacer, Progress};
use super::walk::Walked;
use super::{Admin, AdminError, AdminResult};

/// Items per Scan page: small enough that `--rate` paces evenly and Ctrl-C stops promptly.
const PAGE: u32 = 200;

/// Items copied into one table.
#[derive(Debug)]
pub struct TableCopied {
    pub table: String,
    pub items: usize,
}

/// The tables a backup holds, each with its copy in this deployment: users and usernames
/// first, so that the follows and tweets copied after them have profiles.
fn source_tables<'a>(from: &'a TableNames, to: &'a TableNames) -> [(&'a str, &'a str); 4] {
    [
        (&from.users, &to.users),
        (&from.usernames, &to.usernames),
        (&from.follows, &to.follows),
        (&from.tweets, &to.tweets),
    ]
}

impl Admin {
    /// Copy the tables of prefix `from` into this deployment's, `segments` Scan segments at a
    /// time, at most `pacer`'s rate of items.
    pub async fn restore(
        &self,
        from: &TableNames,
        segments: u32,
        pacer: &Pacer,
        progress: &Progress,
    ) -> AdminResult<(Vec<TableCopied>, Walked)> {
        let tables = source_tables(from, self.dynamo.tables());
        for (source, _) in tables {
            if !self.dynamo.table_exists(source).await? {
                return Err(AdminError::NoRestoredTable { table: source.to_owned() });
            }
        }
        let mut copied = Vec::new();
        for (source, target) in tables {
            let copies = (0..segments).map(|index| {
                self.copy_segment(source, target, Segment { index, total: segments }, pacer, progress)
            });
            let items = try_join_all(copies).await?.into_iter().sum();
            copied.push(TableCopied { table: target.to_owned(), items });
            if self.stop.is_cancelled() {
                return Ok((copied, Walked::Interrupted));
            }
        }
        Ok((copied, Walked::Complete))
    }

    async fn copy_segment(
        &self,
        source: &str,
        target: &str,
        segment: Segment,
        pacer: &Pacer,
        progress: &Progress,
    ) -> AdminResult<usize> {
        let (mut after, mut items) = (None, 0);
        while !self.stop.is_cancelled() {
            pacer.reserve(u64::from(PAGE)).await;
            let page = self.dynamo.copy_page(source, target, segment, after, PAGE).await?;
            items += page.items;
            progress.advance(page.items as u64, &format!("into {target}"));
            match page.resume_after {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        Ok(items)
    }
}
