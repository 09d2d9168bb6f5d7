//! List pages this process has read, kept to be served again while they are current.
//!
//! Why: a full page of a large tenant's members, role assignments, invitations or events cost
//! the database most of a millisecond (joins, a count, the page rendered as JSON), and admins'
//! screens and scripts read the same first pages over and over. The database keeps a
//! [`ListVersion`](crate::store::ListVersion) per tenant and [`List`], raised in the same
//! transaction as every change to a row that list shows (migration 0023). A kept page read at
//! version n is served while its list is still at n, which costs one or two primary-key reads, and
//! read afresh otherwise. So a change made through any replica still shows on the very next
//! request, on every replica, and a change a list does not show (an invitation, for the
//! members page) leaves its kept pages current.
//!
//! Pages are checked, never trusted: a page whose version was not read in the same statement as
//! its rows is never kept (`Listed` carries both from one snapshot).

use std::{collections::HashMap, hash::Hash, sync::Arc, sync::Mutex};

use crate::domain::{RoleName, TenantId, UserId};
use crate::store::{Assignment, AuditEntry, AuditQuery, Invitation, InvitationState, List, Listed, PageRequest, Reader, User};

/// The kept pages of the four lists, keyed by everything their statements read: the tenant,
/// the filters and the page number.
pub(crate) struct Pages {
    pub members: PageCache<(TenantId, PageRequest), (User, Vec<RoleName>)>,
    /// By user and stored role name.
    pub assignments: PageCache<(TenantId, Option<UserId>, Option<String>, PageRequest), Assignment>,
    /// Never the pending or expired filters: which rows those match changes with the clock.
    pub invitations: PageCache<(TenantId, Option<InvitationState>, Option<String>, PageRequest), Invitation>,
    pub audit: PageCache<(AuditQuery, PageRequest), AuditEntry>,
}

impl Default for Pages {
    fn default() -> Self {
        Self {
            members: PageCache::new(List::Members, PAGES_KEPT),
            assignments: PageCache::new(List::Assignments, PAGES_KEPT),
            invitations: PageCache::new(List::Invitations, PAGES_KEPT),
            audit: PageCache::new(List::Audit, PAGES_KEPT),
        }
    }
}

/// How many pages each list keeps: a full page is some tens of kilobytes, so the four lists
/// hold a few megabytes (tens at worst, for audit pages whose events carry large metadata).
/// When full, an arbitrary page makes room.
pub(crate) const PAGES_KEPT: usize = 64;

/// The kept pages of one list, by what was asked for (tenant, filters, page number).
pub(crate) struct PageCache<K, T> {
    /// Which list's version says whether a kept page is current: the one its reads return.
    list: List,
    pages: Mutex<HashMap<K, Arc<Listed<T>>>>,
    capacity: usize,
}

impl<K: Hash + Eq, T> PageCache<K, T> {
    pub(crate) fn new(list: List, capacity: usize) -> Self {
        Self { list, pages: Mutex::new(HashMap::new()), capacity }
    }

    /// The page for `key`: the kept one if its list is still at the version it was read at,
    /// otherwise read afresh with `read` (which returns its rows with the version of this list
    /// in the same snapshot) and kept.
    pub(crate) async fn page<F>(&self, tx: &mut Reader, tenant: TenantId, key: K, read: F) -> Result<Arc<Listed<T>>, sqlx::Error>
    where
        F: AsyncFnOnce(&mut Reader) -> Result<Listed<T>, sqlx::Error>,
    {
        if let Some(kept) = self.kept(&key) {
            if tx.list_version(self.list, tenant).await? == kept.version {
                return Ok(kept);
            }
        }
        let fresh = Arc::new(read(tx).await?);
        self.keep(key, Arc::clone(&fresh));
        Ok(fresh)
    }

    fn kept(&self, key: &K) -> Option<Arc<Listed<T>>> {
        self.lock().get(key).cloned()
    }

    /// Keeps `page`, unless a page already kept for `key` is newer (two requests that read
    /// around one change may finish in either order).
    pub(crate) fn keep(&self, key: K, page: Arc<Listed<T>>) {
        let mut pages = self.lock();
        if pages.get(&key).is_some_and(|kept| kept.version > page.version) {
            return;
        }
        if pages.len() >= self.capacity && !pages.contains_key(&key) {
            // Drops whichever page the map visits first.
            let mut dropped_one = false;
            pages.retain(|_, _| std::mem::replace(&mut dropped_one, true));
        }
        pages.insert(key, page);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<Listed<T>>>> {
        // A panic while holding the lock leaves a map that is still whole: go on with it.
        self.pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}
