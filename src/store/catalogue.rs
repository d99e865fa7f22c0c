//! The catalogue every answer reads: roles, packages with their staffing patterns, and the last
//! import (how fresh the data is). It changes only on import, so it is kept in memory under the
//! `catalogue` data version (`cache.rs`) instead of being read on every question.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;

use super::cache::Snapshot;
use super::import::{read_imports, ImportRecord};
use super::Store;
use crate::domain::firm::{OfferedPackages, Package, PackageRole, Role};

/// Roles and packages (each with whether the last import retired it), staffing patterns by
/// package, and the last import.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    /// Most senior first, then by id.
    pub roles: Vec<(Role, bool)>,
    /// By id.
    pub packages: Vec<(Package, bool)>,
    /// Those the last import did not retire, as sellers name them.
    pub offered: Arc<OfferedPackages>,
    /// Most senior role first, then by role id.
    pub package_roles: HashMap<String, Vec<PackageRole>>,
    pub last_import: Option<ImportRecord>,
}

impl Store {
    pub(crate) async fn catalogue(&self) -> anyhow::Result<Arc<Catalogue>> {
        self.versioned(&self.caches.catalogue, load).await
    }

    /// The last import, if any.
    pub async fn last_import(&self) -> anyhow::Result<Option<ImportRecord>> {
        Ok(self.catalogue().await?.last_import.clone())
    }
}

async fn load(snapshot: Snapshot) -> anyhow::Result<Catalogue> {
    let Snapshot { mut tx, .. } = snapshot;
    let roles: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT id, name, rank, description, CASE WHEN retired THEN 1 ELSE 0 END \
         FROM roles ORDER BY rank DESC, id",
    )
    .fetch_all(&mut *tx)
    .await
    .context("loading roles")?;
    let packages: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT id, name, duration_weeks, description, CASE WHEN retired THEN 1 ELSE 0 END \
         FROM packages ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await
    .context("loading packages")?;
    let patterns: Vec<(String, String, i64, f64)> = sqlx::query_as(
        "SELECT pr.package, pr.role, pr.count, pr.hours_per_week FROM package_roles pr \
         JOIN roles r ON r.id = pr.role ORDER BY pr.package, r.rank DESC, pr.role",
    )
    .fetch_all(&mut *tx)
    .await
    .context("loading package roles")?;
    let last_import = read_imports(&mut tx, 1).await?.into_iter().next();
    tx.commit().await.context("ending the catalogue snapshot")?;

    let mut package_roles: HashMap<String, Vec<PackageRole>> = HashMap::new();
    for row in patterns {
        let role = super::firm::package_role(row);
        package_roles.entry(role.package.clone()).or_default().push(role);
    }
    let packages: Vec<(Package, bool)> = packages
        .into_iter()
        .map(|(id, name, duration_weeks, description, retired)| {
            (Package { id, name, duration_weeks, description }, retired != 0)
        })
        .collect();
    let offered = packages.iter().filter(|(_, retired)| !retired).map(|(p, _)| p.clone()).collect();
    Ok(Catalogue {
        offered: Arc::new(OfferedPackages::new(offered)),
        roles: roles
            .into_iter()
            .map(|(id, name, rank, description, retired)| {
                (Role { id, name, rank, description }, retired != 0)
            })
            .collect(),
        packages,
        package_roles,
        last_import,
    })
}
