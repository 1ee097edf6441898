//! Static assets, embedded in the binary.
use actix_web::http::header;
use actix_web::HttpResponse;

const CSS: &str = include_str!("../../../static/portcullis.css");
const FORM_POST_JS: &str = include_str!("../../../static/form_post.js");
const PASSKEY_JS: &str = include_str!("../../../static/passkey.js");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

pub async fn css() -> HttpResponse {
    asset("text/css; charset=utf-8", CSS)
}

pub async fn form_post_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", FORM_POST_JS)
}

pub async fn passkey_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", PASSKEY_JS)
}
