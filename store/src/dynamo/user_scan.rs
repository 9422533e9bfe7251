//! The users table walked in parallel segments (Scan with Segment and TotalSegments), one page
//! at a time, each page ending at a key a walk can resume after: for offline tools that visit
//! every user (`timeline-admin ... --all`), never for a request.

use aws_sdk_dynamodb::types::AttributeValue;
use timeline_model::ports::StoreResult;
use timeline_model::{Timestamp, UserId};

use super::Dynamo;
use super::errors::{classify, corrupt};
use super::users::user_key;

/// One of `total` disjoint parts of a Scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub index: u32,
    pub total: u32,
}

/// A page of a segment's users.
pub struct UserPage {
    pub users: Vec<UserId>,
    /// Where the next page starts (exclusive); `None` once the segment is read to its end.
    pub resume_after: Option<UserId>,
}

impl Dynamo {
    /// The page of `segment` after `after` (from its start when `None`); with `seen_since`,
    /// only the users recorded as seen since then (`TimelineStore::mark_seen`).
    pub async fn user_page(
        &self,
        segment: Segment,
        after: Option<&UserId>,
        seen_since: Option<Timestamp>,
    ) -> StoreResult<UserPage> {
        let mut scan = self.client.scan();
        if let Some(since) = seen_since {
            scan = scan
                .filter_expression("seen_at >= :since")
                .expression_attribute_values(":since", AttributeValue::N(since.unix_millis().to_string()));
        }
        let page = scan
            .table_name(&self.tables.users)
            .projection_expression("user_id")
            .segment(segment.index as i32)
            .total_segments(segment.total as i32)
            .set_exclusive_start_key(after.map(user_key))
            .send()
            .await
            .map_err(classify)?;
        let users = page.items.unwrap_or_default().iter().filter_map(user_id).collect::<StoreResult<_>>()?;
        let resume_after = page.last_evaluated_key.as_ref().and_then(user_id).transpose()?;
        Ok(UserPage { users, resume_after })
    }

    /// The approximate number of users (DynamoDB refreshes it about every six hours), for a
    /// walk's progress and ETA.
    pub async fn approximate_user_count(&self) -> StoreResult<u64> {
        let table =
            self.client.describe_table().table_name(&self.tables.users).send().await.map_err(classify)?;
        Ok(table.table.and_then(|t| t.item_count).map_or(0, |count| count.max(0) as u64))
    }
}

fn user_id(item: &std::collections::HashMap<String, AttributeValue>) -> Option<StoreResult<UserId>> {
    match item.get("user_id")? {
        AttributeValue::S(raw) => Some(UserId::parse(raw).map_err(|e| corrupt("user", e))),
        _ => None,
    }
}
