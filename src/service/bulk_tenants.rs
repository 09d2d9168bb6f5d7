//! Many tenants at once: the rows of a `bulk-create-tenants` CSV file or the entries of a
//! `provision-from-config` file, each provisioned by [`Services::provision`] in its own
//! transaction. A failing row never stops the run; a row whose tenant exists already is
//! reported as such, so a file can be run again; the first row to name a subdomain (or a
//! name) keeps it, also when rows run concurrently.

use std::{collections::HashSet, io::Read};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    provision::{IfExists, ProvisionOptions, Provisioned},
    tenant_description::TenantDescription,
    RequestMeta, Services,
};
use crate::{domain::TenantId, FieldErrors, ServiceError};

/// The columns of a bulk file; only `name` is required.
pub const BULK_COLUMNS: [&str; 10] =
    ["name", "subdomain", "plan", "owner_email", "contact_email", "max_users", "max_assets", "max_devices", "storage_quota_gb", "custom_domain"];

/// One entry to provision: its row (or position) and its description, or why there is none.
#[derive(Debug)]
pub struct BulkItem {
    pub row: u64,
    pub description: Result<Value, FieldErrors>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    Created,
    /// A dry run found nothing wrong.
    WouldCreate,
    Exists,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkRowResult {
    pub row: u64,
    pub name: Option<String>,
    pub subdomain: Option<String>,
    pub status: BulkStatus,
    pub tenant_id: Option<TenantId>,
    /// Invitations queued for this tenant.
    pub invited: Vec<String>,
    /// Why the row failed, by field.
    pub errors: Option<FieldErrors>,
}

/// The counts a run ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BulkSummary {
    pub successful: u64,
    pub failed: u64,
    pub skipped_exists: u64,
}

impl BulkSummary {
    pub fn of(results: &[BulkRowResult]) -> Self {
        let count = |status| results.iter().filter(|r| r.status == status).count() as u64;
        Self { successful: count(BulkStatus::Created) + count(BulkStatus::WouldCreate), failed: count(BulkStatus::Failed), skipped_exists: count(BulkStatus::Exists) }
    }
}

/// Reads a bulk CSV file as it goes (it is never loaded whole): the header names the columns
/// (any order; `name` required, unknown columns refused), and each record becomes a
/// description whose error fields are the file's column names.
pub fn bulk_csv_items<R: Read>(reader: R) -> Result<impl Iterator<Item = BulkItem>, String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(reader);
    let header: Vec<String> = csv.headers().map_err(|e| format!("cannot read the header: {e}"))?.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let unknown: Vec<&String> = header.iter().filter(|h| !BULK_COLUMNS.contains(&h.as_str())).collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown column(s) {}: the header names some of {}",
            unknown.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
            BULK_COLUMNS.join(",")
        ));
    }
    if !header.iter().any(|h| h == "name") {
        return Err(format!("the first line must be a header with a name column (columns: {})", BULK_COLUMNS.join(",")));
    }
    // Row numbers count the header as row 1, as a spreadsheet shows them.
    Ok(csv.into_records().enumerate().map(move |(i, record)| {
        let row = i as u64 + 2;
        let description = match record {
            Ok(record) => Ok(description_of_row(header.iter().map(String::as_str).zip(record.iter()))),
            Err(e) => Err(FieldErrors::single("row", format!("This line cannot be read as CSV: {e}"))),
        };
        BulkItem { row, description }
    }))
}

/// The description a bulk row stands for. Numbers that do not parse stay text, so the
/// description's parser names them.
pub fn description_of_row<'a>(cells: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    let mut tenant = Map::new();
    let mut users = Vec::new();
    for (column, cell) in cells {
        if cell.is_empty() {
            continue;
        }
        match column {
            "owner_email" => users.push(json!({"email": cell, "role": "owner"})),
            "max_users" | "max_assets" | "max_devices" | "storage_quota_gb" => {
                let value = cell.parse::<i64>().map_or_else(|_| json!(cell), |n| json!(n));
                tenant.insert(column.to_owned(), value);
            }
            _ => {
                tenant.insert(column.to_owned(), json!(cell));
            }
        }
    }
    json!({"tenant": tenant, "users": users})
}

/// A description's error path as the CSV file names it (`tenant.max_users` → `max_users`,
/// `users[0].email` → `owner_email`).
pub fn csv_field(path: &str) -> String {
    if let Some(column) = path.strip_prefix("tenant.") {
        return column.to_owned();
    }
    if path.starts_with("users") {
        return if path == "users" { "max_users".into() } else { "owner_email".into() };
    }
    path.to_owned()
}

/// A service error as the per-field reasons a report lists.
pub fn reasons_of(error: &ServiceError) -> FieldErrors {
    match error {
        ServiceError::Validation(fields) => fields.clone(),
        ServiceError::Conflict { fields, detail } | ServiceError::Gone { fields, detail } if !fields.is_empty() || detail.is_empty() => fields.clone(),
        ServiceError::Conflict { detail, .. } | ServiceError::Gone { detail, .. } => FieldErrors::single("non_field_errors", detail.clone()),
        ServiceError::Internal(_) => FieldErrors::single("non_field_errors", "An unexpected error; see the server log."),
        other => FieldErrors::single("non_field_errors", other.to_string()),
    }
}

/// How a run goes.
#[derive(Debug, Clone, Copy)]
pub struct BulkOptions {
    pub dry_run: bool,
    /// Rows provisioned at once (at least 1).
    pub concurrency: usize,
    /// How error paths are shown: [`csv_field`] for a CSV file, as they are for a config.
    pub rename: fn(&str) -> String,
}

impl Services {
    /// Provisions every item in its own transaction, `concurrency` at a time, calling
    /// `progress` with the number of items finished. Results come back in item order.
    /// `by` is who answers for the tenants (`None`: the command line).
    pub async fn bulk_provision(&self, by: Option<&super::Actor>, items: impl Iterator<Item = BulkItem>, options: BulkOptions, progress: &(dyn Fn(u64) + Sync)) -> Vec<BulkRowResult> {
        let provision_options = ProvisionOptions { dry_run: options.dry_run, if_exists: IfExists::Report };
        let mut claimed_subdomains = HashSet::new();
        let mut claimed_names = HashSet::new();
        let mut running = tokio::task::JoinSet::new();
        let mut results = Vec::new();
        let concurrency = options.concurrency.max(1);
        let failed = |row, name, subdomain, errors: FieldErrors| BulkRowResult {
            row,
            name,
            subdomain,
            status: BulkStatus::Failed,
            tenant_id: None,
            invited: Vec::new(),
            errors: Some(errors.renamed(options.rename)),
        };
        for item in items {
            let parsed = item.description.and_then(|value| TenantDescription::parse(&value));
            let description = match parsed {
                Ok(description) => description,
                Err(errors) => {
                    results.push(failed(item.row, None, None, errors));
                    progress(results.len() as u64);
                    continue;
                }
            };
            let (name, subdomain) = (description.name.as_str().to_owned(), description.subdomain.as_str().to_owned());
            // Claimed in file order before anything runs, so the first row wins whatever
            // order the concurrent rows finish in.
            if !claimed_subdomains.insert(subdomain.clone()) {
                let errors = FieldErrors::single("tenant.subdomain", "An earlier row of this file already has this subdomain.");
                results.push(failed(item.row, Some(name), Some(subdomain), errors));
                progress(results.len() as u64);
                continue;
            }
            if !claimed_names.insert(name.to_lowercase()) {
                let errors = FieldErrors::single("tenant.name", "An earlier row of this file already has this name.");
                results.push(failed(item.row, Some(name), Some(subdomain), errors));
                progress(results.len() as u64);
                continue;
            }
            while running.len() >= concurrency {
                if let Some(Ok(result)) = running.join_next().await {
                    results.push(result);
                    progress(results.len() as u64);
                }
            }
            let services = self.clone();
            let by = by.cloned();
            let row = item.row;
            running.spawn(async move {
                let outcome = services.provision(by.as_ref(), description, provision_options, &RequestMeta::default()).await;
                let result = |status, tenant: &crate::store::Tenant, invited: Vec<String>| BulkRowResult {
                    row,
                    name: Some(tenant.name.clone()),
                    subdomain: Some(tenant.slug.clone()),
                    status,
                    tenant_id: Some(tenant.id),
                    invited,
                    errors: None,
                };
                let invited = |made: &super::provision::ProvisionedTenant| made.invitations.iter().map(|i| i.invitation.email.clone()).collect();
                match outcome {
                    Ok(Provisioned::Created(made)) => result(BulkStatus::Created, &made.tenant, invited(&made)),
                    Ok(Provisioned::WouldCreate(made)) => result(BulkStatus::WouldCreate, &made.tenant, invited(&made)),
                    Ok(Provisioned::Exists(tenant)) => result(BulkStatus::Exists, &tenant, Vec::new()),
                    Err(error) => {
                        if matches!(error, ServiceError::Internal(_)) {
                            tracing::error!(row, error = %error, "a bulk row failed unexpectedly");
                        }
                        BulkRowResult {
                            row,
                            name: Some(name),
                            subdomain: Some(subdomain),
                            status: BulkStatus::Failed,
                            tenant_id: None,
                            invited: Vec::new(),
                            errors: Some(reasons_of(&error).renamed(options.rename)),
                        }
                    }
                }
            });
        }
        while let Some(joined) = running.join_next().await {
            if let Ok(result) = joined {
                results.push(result);
                progress(results.len() as u64);
            }
        }
        results.sort_by_key(|r| r.row);
        results
    }
}

/// The entries of a `provision-from-config` file: one description, a list of them, or
/// `{"tenants": [...]}`.
pub fn config_items(document: Value) -> Result<Vec<BulkItem>, String> {
    let list = match document {
        Value::Array(list) => list,
        Value::Object(mut object) if object.contains_key("tenants") => match object.remove("tenants") {
            Some(Value::Array(list)) => list,
            _ => return Err("\"tenants\" must be a list of tenant descriptions".into()),
        },
        Value::Object(object) => vec![Value::Object(object)],
        _ => return Err("the file must hold a tenant description, a list of them, or {\"tenants\": [...]}".into()),
    };
    Ok(list.into_iter().enumerate().map(|(i, description)| BulkItem { row: i as u64 + 1, description: Ok(description) }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_becomes_a_description() {
        let cells = [("name", "Acme"), ("subdomain", "acme"), ("plan", "basic"), ("owner_email", "o@acme.com"), ("max_users", "12"), ("max_assets", "lots"), ("custom_domain", "")];
        let value = description_of_row(cells.into_iter());
        assert_eq!(
            value,
            json!({"tenant": {"name": "Acme", "subdomain": "acme", "plan": "basic", "max_users": 12, "max_assets": "lots"},
                   "users": [{"email": "o@acme.com", "role": "owner"}]})
        );
    }

    #[test]
    fn error_paths_are_shown_as_columns() {
        assert_eq!(csv_field("tenant.max_users"), "max_users");
        assert_eq!(csv_field("tenant.plan"), "plan");
        assert_eq!(csv_field("users[0].email"), "owner_email");
        assert_eq!(csv_field("users"), "max_users");
        assert_eq!(csv_field("row"), "row");
    }

    #[test]
    fn the_header_is_checked() {
        assert!(bulk_csv_items("subdomain\nacme\n".as_bytes()).is_err());
        assert!(bulk_csv_items("name,colour\nAcme,red\n".as_bytes()).err().unwrap().contains("colour"));
        let items: Vec<BulkItem> = bulk_csv_items("Name , Subdomain\nAcme,acme\nGlobex,\n".as_bytes()).unwrap().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].row, 2);
        assert_eq!(items[1].description.as_ref().unwrap(), &json!({"tenant": {"name": "Globex"}, "users": []}));
    }

    #[test]
    fn config_files_hold_one_or_many() {
        assert_eq!(config_items(json!({"tenant": {"name": "A"}})).unwrap().len(), 1);
        assert_eq!(config_items(json!([{"tenant": {"name": "A"}}, {"tenant": {"name": "B"}}])).unwrap().len(), 2);
        assert_eq!(config_items(json!({"tenants": [{"tenant": {"name": "A"}}]})).unwrap()[0].row, 1);
        assert!(config_items(json!({"tenants": 3})).is_err());
        assert!(config_items(json!("x")).is_err());
    }

    #[test]
    fn reasons_keep_the_fields_else_the_sentence() {
        let fields = FieldErrors::single("tenant.subdomain", "taken");
        assert_eq!(reasons_of(&ServiceError::Validation(fields.clone())), fields);
        assert_eq!(reasons_of(&ServiceError::Conflict { detail: "Clash.".into(), fields: fields.clone() }), fields, "a clash on a field names it");
        assert_eq!(reasons_of(&ServiceError::conflict_detail("Already run.")), FieldErrors::single("non_field_errors", "Already run."));
        assert_eq!(reasons_of(&ServiceError::Gone { detail: "Gone.".into(), fields: FieldErrors::new() }), FieldErrors::single("non_field_errors", "Gone."));
        assert_eq!(reasons_of(&ServiceError::Conflict { detail: String::new(), fields: FieldErrors::new() }), FieldErrors::new());
        assert_eq!(reasons_of(&ServiceError::Internal(anyhow::anyhow!("secret detail"))).get("non_field_errors").unwrap()[0], "An unexpected error; see the server log.");
        assert_eq!(reasons_of(&ServiceError::forbidden("No.")).get("non_field_errors").unwrap()[0], "forbidden: No.");
    }

    #[test]
    fn summaries_count_each_status() {
        let row = |status| BulkRowResult { row: 1, name: None, subdomain: None, status, tenant_id: None, invited: vec![], errors: None };
        let results = [row(BulkStatus::Created), row(BulkStatus::WouldCreate), row(BulkStatus::Exists), row(BulkStatus::Failed), row(BulkStatus::Failed)];
        assert_eq!(BulkSummary::of(&results), BulkSummary { successful: 2, failed: 2, skipped_exists: 1 });
    }
}
