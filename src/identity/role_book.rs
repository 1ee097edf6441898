//! This instance's copy of the roles in the database: decisions read `current()` (no query),
//! the server re-reads the table every [`RELOAD_EVERY`] (a change made elsewhere — `portcullis
//! apply`, another instance — takes effect here within that), and a change made in this process
//! calls `reload` at once.
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::roles::Roles;
use crate::store::DbConnection;

/// How often every instance re-reads the roles.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct RoleBook {
    current: RwLock<Arc<Roles>>,
}

impl RoleBook {
    pub fn new(roles: Roles) -> RoleBook {
        RoleBook {
            current: RwLock::new(Arc::new(roles)),
        }
    }

    /// The roles as last read.
    pub fn current(&self) -> Arc<Roles> {
        match self.current.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the roles from the database; `true` when they changed.
    pub fn reload(&self, conn: &mut DbConnection) -> anyhow::Result<bool> {
        let fresh = Roles::read(conn)?;
        let mut slot = match self.current.write() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if **slot == fresh {
            return Ok(false);
        }
        *slot = Arc::new(fresh);
        Ok(true)
    }

    /// Shorthands on [`RoleBook::current`].
    pub fn requires_mfa(&self, role: &str) -> bool {
        self.current().requires_mfa(role)
    }

    pub fn is_admin(&self, role: &str) -> bool {
        self.current().is_admin(role)
    }

    pub fn exists(&self, role: &str) -> bool {
        self.current().exists(role)
    }

    /// A copy of `role`'s permissions.
    pub fn permissions(&self, role: &str) -> Vec<String> {
        self.current().permissions(role).to_vec()
    }

    pub fn may_grant(&self, role: &str, scope: &str) -> bool {
        self.current().may_grant(role, scope)
    }

    /// Every role's name and permissions, by name (a copy).
    pub fn iter(&self) -> std::vec::IntoIter<(String, Vec<String>)> {
        self.current()
            .iter()
            .map(|(n, p)| (n.clone(), p.clone()))
            .collect::<Vec<_>>()
            .into_iter()
    }
}
