//! `GET /admin/api/settings`: the effective configuration, secrets redacted (as `portcullis
//! config show` prints it). Read-only: settings come from the file and the environment.
use actix_web::{web, HttpResponse};

use super::auth::AdminCaller;
use super::ok;
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(show));
}

#[utoipa::path(get, operation_id = "settings_show", path = "/admin/api/settings", tag = "settings",
    responses((status = 200, description = "The effective settings, secrets redacted \
        (`portcullis config show`)", body = Object)))]
pub async fn show(_: AdminCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&state.settings.redacted()))
}
