//! A source-of-truth table copied item for item from a table of the same keys into this
//! deployment's. DynamoDB restores a backup only into a new table (a point-in-time restore, an
//! import of an S3 export), while the stack owns its tables by name and their streams feed the
//! fan-out; so a restore lands beside them and is copied in (`timeline-admin restore`). An
//! offline tool's Scan, in parallel segments; never the read path.

use timeline_model::ports::StoreResult;

use super::Dynamo;
use super::batch::{Item, put_request, write_all};
use super::errors::classify;
use super::user_scan::Segment;

/// A page of a segment copied.
pub struct CopiedPage {
    pub items: usize,
    /// Where the next page starts (exclusive); `None` once the segment is copied to its end.
    pub resume_after: Option<Item>,
}

impl Dynamo {
    /// Copy up to `limit` items of `segment` of table `from`, after `after`, into table `to`
    /// (puts: an item already there is overwritten with the copy, others are left alone).
    pub async fn copy_page(
        &self,
        from: &str,
        to: &str,
        segment: Segment,
        after: Option<Item>,
        limit: u32,
    ) -> StoreResult<CopiedPage> {
        let page = self
            .client
            .scan()
            .table_name(from)
            .segment(segment.index as i32)
            .total_segments(segment.total as i32)
            .limit(limit as i32)
            .set_exclusive_start_key(after)
            .send()
            .await
            .map_err(classify)?;
        let items = page.items.unwrap_or_default();
        let copied = items.len();
        write_all(&self.client, to, items.into_iter().map(put_request).collect()).await?;
        Ok(CopiedPage { items: copied, resume_after: page.last_evaluated_key })
    }

    /// Whether `table` exists.
    pub async fn table_exists(&self, table: &str) -> StoreResult<bool> {
        match self.client.describe_table().table_name(table).send().await {
            Ok(_) => Ok(true),
            Err(error) if super::errors::has_code(&error, "ResourceNotFoundException") => Ok(false),
            Err(error) => Err(classify(error)),
        }
    }
}
