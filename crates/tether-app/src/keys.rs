//! Personal API keys as their lists show them: each with its owner's username, which lives
//! in the user store beside the keys' metadata store.

use tether_store::{ApiKey, StoreResult};

use crate::App;

impl App {
    /// API keys with their owners' usernames (`None` for the operator key): every key when
    /// `everyone` (an admin's all-projects view), else only `owner`'s.
    pub async fn api_keys(
        &self,
        owner: Option<i64>,
        everyone: bool,
    ) -> StoreResult<Vec<(ApiKey, Option<String>)>> {
        let users = self.stores.users.users().await?;
        let keys = self.stores.meta.api_keys().await?;
        Ok(keys
            .into_iter()
            .filter(|k| everyone || (owner.is_some() && k.user_id == owner))
            .map(|k| {
                let username =
                    k.user_id.and_then(|id| users.iter().find(|u| u.id == id)).map(|u| u.username.clone());
                (k, username)
            })
            .collect())
    }
}
