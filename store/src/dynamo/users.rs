//! Profiles, and usernames claimed in their own table: a GSI cannot enforce uniqueness (and
//! is only eventually consistent), a conditional put in one transaction with the profile can.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use timeline_model::ports::{CreateProfile, StoreResult, Users};
use timeline_model::{Timestamp, User, UserId, Username};

use super::Dynamo;
use super::batch::{Item, get_all, put_request, write_all};
use super::errors::{classify, has_code};
use super::requests::{Transacted, from_item, from_items, to_item, transact};

/// A claim on a username, keyed by its canonical (lower-case) form.
#[derive(Serialize, Deserialize)]
struct UsernameClaim {
    username_lower: String,
    user_id: UserId,
}

/// The attributes of [`User::merged_at_read`] and [`User::merged_since`].
const MERGED_AT_READ: &str = "merged_at_read";
const MERGED_SINCE: &str = "merged_since";

pub(super) fn user_key(id: &UserId) -> Item {
    Item::from([("user_id".to_owned(), AttributeValue::S(id.to_string()))])
}

pub(super) fn conditional_put(table: &str, item: Item, condition: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .expect("table and item are set");
    TransactWriteItem::builder().put(put).build()
}

impl Dynamo {
    /// Write profiles and their username claims with BatchWriteItem, unconditionally: for bulk
    /// loads (seeding) that own the users they write and set their counters exactly.
    /// Idempotent: writing the same profiles again leaves the same items.
    pub async fn put_profiles(&self, users: &[User]) -> StoreResult<()> {
        let mut profiles = Vec::with_capacity(users.len());
        let mut claims = Vec::with_capacity(users.len());
        for user in users {
            let claim =
                UsernameClaim { username_lower: user.username.canonical(), user_id: user.user_id.clone() };
            let mut profile = to_item("user", user)?;
            // Never serialised (never served): written here, as `set_merged_at_read` does.
            profile.insert(MERGED_AT_READ.to_owned(), AttributeValue::Bool(user.merged_at_read));
            if let Some(since) = user.merged_since {
                profile.insert(MERGED_SINCE.to_owned(), AttributeValue::S(since.to_string()));
            }
            profiles.push(put_request(profile));
            claims.push(put_request(to_item("username", &claim)?));
        }
        futures::future::try_join(
            write_all(&self.client, &self.tables.users, profiles),
            write_all(&self.client, &self.tables.usernames, claims),
        )
        .await?;
        Ok(())
    }
}

impl Users for Dynamo {
    async fn set_merged_since(&self, author: &UserId, since: Option<Timestamp>) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(user_key(author)))
            .condition_expression("attribute_exists(user_id)")
            .expression_attribute_names("#merged", MERGED_AT_READ)
            .expression_attribute_names("#since", MERGED_SINCE)
            .expression_attribute_values(":merged", AttributeValue::Bool(since.is_some()));
        let update = match since {
            Some(since) => update
                .update_expression("SET #merged = :merged, #since = :since")
                .expression_attribute_values(":since", AttributeValue::S(since.to_string())),
            None => update.update_expression("SET #merged = :merged REMOVE #since"),
        };
        let updated = update.send().await;
        match updated {
            Ok(_) => Ok(()),
            // A profile deleted meanwhile has no mode to keep.
            Err(error) if has_code(&error, "ConditionalCheckFailedException") => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    async fn create(&self, user: &User) -> StoreResult<CreateProfile> {
        let claim =
            UsernameClaim { username_lower: user.username.canonical(), user_id: user.user_id.clone() };
        let items = vec![
            conditional_put(&self.tables.users, to_item("user", user)?, "attribute_not_exists(user_id)"),
            conditional_put(
                &self.tables.usernames,
                to_item("username", &claim)?,
                "attribute_not_exists(username_lower)",
            ),
        ];
        Ok(match transact(&self.client, items).await? {
            Transacted::Done => CreateProfile::Created,
            Transacted::ConditionFailed(failed) if failed.contains(&0) => CreateProfile::ProfileExists,
            Transacted::ConditionFailed(_) => CreateProfile::UsernameTaken,
        })
    }

    async fn get(&self, id: &UserId) -> StoreResult<Option<User>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .set_key(Some(user_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(|item| from_item("user", item)).transpose()
    }

    async fn find_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        let key = Item::from([("username_lower".to_owned(), AttributeValue::S(username.canonical()))]);
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.usernames)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let claim: UsernameClaim = from_item("username", item)?;
        self.get(&claim.user_id).await
    }

    async fn get_many(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let items = get_all(&self.client, &self.tables.users, ids.iter().map(user_key).collect()).await?;
        let mut found: Vec<User> = from_items("user", items)?;
        // BatchGetItem answers in any order; callers page in ID order.
        found.sort_by_key(|user| ids.iter().position(|id| *id == user.user_id));
        Ok(found)
    }
}
