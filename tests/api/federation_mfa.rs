//! Federation meets the second factor: an upstream sign-in is a first factor like a password
//! (`fed`). A user who set up an authenticator app is asked for its code after the upstream
//! comes back, before any code reaches the client, and the id_token then says `fed otp mfa` at
//! the multi-factor `acr`.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::federation_flow::*;
use crate::helpers::Backend;
use crate::totp::code_at;
use crate::web::{self, browser};

crate::both_backends!(an_upstream_sign_in_is_followed_by_the_second_factor);

fn id_claims(tokens: &Value) -> Value {
    let jwt = tokens["id_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn an_upstream_sign_in_is_followed_by_the_second_factor(backend: Backend) {
    let p = pair(backend).await;
    p.up.create_user("fed@example.com", "student").await;
    let (bd, bu) = (browser(), browser());
    let resp = via_upstream(&p, &bd, &bu, "acme", "fed@example.com").await;
    let first = finish_downstream(&p, &bd, resp).await;
    assert_eq!(id_claims(&first)["amr"], json!(["fed"]));

    // The new account sets up an app on its account page, in the signed-in browser.
    let page = p.down.url("/account/mfa");
    let (_, _, html) = web::get(&bd, &page).await;
    let start = web::form_fields(&html, "#totp-start-form");
    let resp = web::post_form(&bd, &p.down.url("/account/mfa/totp/start"), &start).await;
    assert_eq!(resp.status(), 303);
    let (_, _, html) = web::get(&bd, &page).await;
    let secret = web::text(&html, "#totp-secret").unwrap();
    let code = code_at(&secret, p.down.clock_now());
    let confirm = web::fill(
        web::form_fields(&html, "#totp-confirm-form"),
        &[("code", &code)],
    );
    let resp = web::post_form(&bd, &p.down.url("/account/mfa/totp/confirm"), &confirm).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        web::location(&p.down, &resp),
        p.down.url("/account/mfa?done=totp_on")
    );

    // Another browser: back from upstream, the second-factor page comes before the client.
    p.down.clock.advance(30);
    let (bd2, bu2) = (browser(), browser());
    let resp = via_upstream(&p, &bd2, &bu2, "acme", "fed@example.com").await;
    assert_eq!(resp.status(), 303);
    let mfa_url = web::location(&p.down, &resp);
    assert!(mfa_url.contains("/login/mfa?challenge="), "{mfa_url}");
    let (status, _, html) = web::get(&bd2, &mfa_url).await;
    assert_eq!(status, 200, "{html}");
    let form = web::form_fields(&html, "#mfa-form");
    let wrong = web::fill(form.clone(), &[("code", "000000")]);
    let resp = web::post_form(&bd2, &p.down.url("/login/mfa"), &wrong).await;
    assert_eq!(resp.status(), 400);
    let (status, _, html) = web::get(&bd2, &mfa_url).await;
    assert_eq!(status, 200, "{html}");
    let right = web::fill(
        web::form_fields(&html, "#mfa-form"),
        &[("code", &code_at(&secret, p.down.clock_now()))],
    );
    let resp = web::post_form(&bd2, &p.down.url("/login/mfa"), &right).await;
    let tokens = finish_downstream(&p, &bd2, resp).await;
    let claims = id_claims(&tokens);
    assert_eq!(claims["amr"], json!(["fed", "otp", "mfa"]), "{claims}");
    assert_eq!(claims["acr"], "urn:portcullis:loa:2fa");
    assert_eq!(claims["sub"], id_claims(&first)["sub"]);
}
