//! Notes of cached copies a cache outage left stale (`timeline_model::fanout::stale`), kept in
//! the timelines table under a partition no user can have (`~` is not a user ID character),
//! one item per note, sort keys in order of writing so that the oldest are repaired first.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;
use serde::{Deserialize, Serialize};
use timeline_model::UserId;
use timeline_model::fanout::stale::{Stale, StaleNote};
use timeline_model::ports::StoreResult;

use super::Dynamo;
use super::batch::{put_request, write_all};
use super::errors::classify;
use super::requests::{from_items, query_up_to, to_item};

const PARTITION: &str = "~stale";

/// Copies named per note: a note of 2,000 user IDs of up to 128 bytes stays far below
/// DynamoDB's 400 KB item limit.
const COPIES_PER_NOTE: usize = 2000;

/// A note not repaired within a week names copies that have idled out of the cache since
/// (`IDLE_TTL`) or been rebuilt by revalidation: DynamoDB's TTL deletes it.
const NOTE_TTL: Duration = Duration::from_secs(8 * 24 * 3600);

#[derive(Serialize, Deserialize)]
struct NoteItem {
    owner_id: String,
    /// Milliseconds since the epoch, then a random part: in order of writing, and unique.
    tweet_id: String,
    #[serde(default)]
    timelines: BTreeSet<UserId>,
    #[serde(default)]
    recent_lists: BTreeSet<UserId>,
    expires_at: u64,
}

impl Dynamo {
    pub(super) async fn write_stale_notes(&self, stale: &Stale) -> StoreResult<()> {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let expires_at = (since_epoch + NOTE_TTL).as_secs();
        let requests = chunks(stale)
            .into_iter()
            .map(|chunk| {
                let key = format!("{:013}#{:016x}", since_epoch.as_millis(), rand::rng().random::<u64>());
                let item = NoteItem {
                    owner_id: PARTITION.to_owned(),
                    tweet_id: key,
                    timelines: chunk.timelines,
                    recent_lists: chunk.recent_lists,
                    expires_at,
                };
                Ok(put_request(to_item("stale-cache note", &item)?))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        write_all(&self.client, &self.tables.timelines, requests).await
    }

    pub(super) async fn oldest_stale_notes(&self, limit: usize) -> StoreResult<Vec<StaleNote>> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.timelines)
            .consistent_read(true)
            .key_condition_expression("owner_id = :notes")
            .expression_attribute_values(":notes", AttributeValue::S(PARTITION.to_owned()));
        let items: Vec<NoteItem> = from_items("stale-cache note", query_up_to(query, limit).await?)?;
        Ok(items
            .into_iter()
            .map(|item| StaleNote {
                key: item.tweet_id,
                stale: Stale { timelines: item.timelines, recent_lists: item.recent_lists },
            })
            .collect())
    }

    pub(super) async fn delete_stale_note(&self, note: &StaleNote) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.tables.timelines)
            .key("owner_id", AttributeValue::S(PARTITION.to_owned()))
            .key("tweet_id", AttributeValue::S(note.key.clone()))
            .send()
            .await
            .map(drop)
            .map_err(classify)
    }
}

/// `stale` cut into notes of at most `COPIES_PER_NOTE` copies.
fn chunks(stale: &Stale) -> Vec<Stale> {
    let mut notes = vec![Stale::default()];
    let copies =
        (stale.timelines.iter().map(|id| (id, true))).chain(stale.recent_lists.iter().map(|id| (id, false)));
    for (id, timeline) in copies {
        if notes.last().is_some_and(|note| note.len() >= COPIES_PER_NOTE) {
            notes.push(Stale::default());
        }
        let note = notes.last_mut().expect("never empty");
        let set = if timeline { &mut note.timelines } else { &mut note.recent_lists };
        set.insert(id.clone());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_outage_is_noted_in_items_of_bounded_size() {
        let id = |n: usize| UserId::parse(&format!("user-{n}")).unwrap();
        let stale = Stale { timelines: (0..4500).map(id).collect(), recent_lists: (0..10).map(id).collect() };
        let notes = chunks(&stale);
        assert_eq!(notes.iter().map(Stale::len).collect::<Vec<_>>(), [2000, 2000, 510]);
        assert_eq!(notes.last().unwrap().recent_lists.len(), 10);
    }
}
