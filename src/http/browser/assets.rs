//! `/static/{file}`: the theme's file of that name (`ui.theme_dir`/static), else the built-in
//! one (embedded in the binary), else 404. Names are looked up, never joined to a path.
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::state::AppState;
use crate::ui::{builtin_asset, Asset};

pub async fn file(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let ui = state.ui.current();
    let themed = ui.theme().and_then(|t| t.asset(&name)).cloned();
    match themed.or_else(|| builtin_asset(&name)) {
        Some(asset) => send(asset),
        None => crate::http::not_found().await,
    }
}

fn send(asset: Asset) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if asset.content_type == "image/svg+xml" {
        // An SVG opened by itself is a document of our origin: no script in it may run.
        resp.insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ));
    }
    resp.body(asset.body)
}
