//! The whole browser sign-in with the `openidconnect` crate as the relying party: discovery,
//! PKCE S256, nonce, ID token verification, userinfo, refresh and RP-initiated logout. The
//! HTML forms are filled by a reqwest "browser" with its own cookies.
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use portcullis::tokens::Alg;

use crate::helpers::{spawn_app_with, Backend};
use crate::web::{self, browser, REDIRECT_URI};

crate::both_backends!(
    relying_party_signs_in_refreshes_and_logs_out,
    api_audience_client_signs_in_and_reads_userinfo,
    es256_and_eddsa_id_tokens_verify_in_the_rp_library
);

/// The API a client may be registered for with `--audience`.
const API: &str = "https://api.example.com";

async fn relying_party_signs_in_refreshes_and_logs_out(backend: Backend) {
    relying_party_flow(backend, None, None).await
}

/// Clients registered with `id_token_signed_response_alg` ES256 or EdDSA (and access tokens
/// of the same algorithm): the RP library, told to expect that algorithm, verifies the
/// id_token and its `at_hash`; the access token verifies with jsonwebtoken and
/// portcullis-verify.
async fn es256_and_eddsa_id_tokens_verify_in_the_rp_library(backend: Backend) {
    relying_party_flow(backend, Some(API), Some(Alg::ES256)).await;
    relying_party_flow(backend, Some(API), Some(Alg::EdDSA)).await;
    // PS256 (RSASSA-PSS) too, as FAPI 2.0 clients get it.
    relying_party_flow(backend, Some(API), Some(Alg::PS256)).await;
}

/// A client with an API audience: its access token is for the API and also works at
/// `/userinfo` (so RP libraries complete the sign-in), and `portcullis-verify` configured for
/// the API accepts it.
async fn api_audience_client_signs_in_and_reads_userinfo(backend: Backend) {
    relying_party_flow(backend, Some(API), None).await
}

async fn relying_party_flow(backend: Backend, audience: Option<&str>, alg: Option<Alg>) {
    let app = spawn_app_with(backend, |s| {
        if let Some(a) = alg {
            s.keys.algorithms = vec![Alg::RS256, a];
        }
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    let registered = app.code_client_with(|spec| {
        spec.audiences = audience.into_iter().map(String::from).collect();
        spec.id_token_alg = alg.map(|a| a.name().to_string());
        spec.token_alg = alg.map(|a| a.name().to_string());
    });
    // The RP's own HTTP client: no redirects (as openidconnect advises, against SSRF).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: authorize → login page → consent page → back to the client.
    let b = browser();
    let resp = b.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let login_url = web::location(&app, &resp);
    assert!(
        login_url.starts_with(&app.url("/login?request=")),
        "{login_url}"
    );
    let resp = web::sign_in(&app, &b, &login_url, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let set_cookie: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session_cookie = set_cookie
        .iter()
        .find(|c| c.starts_with("portcullis_session="))
        .expect("an SSO cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session_cookie.contains(attr), "{session_cookie}");
    }
    assert!(
        !session_cookie.contains("Secure"),
        "http issuer: {session_cookie}"
    );
    let consent_url = web::location(&app, &resp);
    assert!(consent_url.starts_with(&app.url("/consent?request=")));
    let (status, _, html) = web::get(&b, &consent_url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Example App"), "{html}");
    for scope in ["openid", "profile", "email", "offline_access", "read"] {
        assert!(
            html.contains(&format!("<code>{scope}</code>")),
            "{scope}: {html}"
        );
    }
    let resp = web::decide(&app, &b, &consent_url, "allow").await;
    assert_eq!(resp.status(), 303);
    let back = web::location(&app, &resp);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert_eq!(
        web::param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        web::param(&back, "iss").as_deref(),
        Some(app.address.as_str())
    );
    let code = web::param(&back, "code").expect("a code");

    // The RP exchanges the code (PKCE verifier) and verifies the ID token.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an id_token");
    let verifier = match alg {
        None => client.id_token_verifier(),
        Some(a) => client.id_token_verifier().set_allowed_algs(vec![match a {
            Alg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            Alg::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
            Alg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Alg::PS256 => CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        }]),
    };
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid id_token");
    assert_eq!(claims.subject().as_str(), user.id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    let auth_time = claims.auth_time().expect("auth_time");
    assert!((auth_time.timestamp() - app.clock_now()).abs() <= 1);
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    let granted: Vec<String> = tokens
        .scopes()
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        granted,
        ["openid", "profile", "email", "offline_access", "read"]
    );

    // The access token: RFC 9068, for this client, with the user's claims; for the API (and
    // then the userinfo audience beside it) or for this server.
    let (header, at) = crate::helpers::verify_with_jwks(
        tokens.access_token().secret(),
        &app.jwks().await,
        &app.address,
        audience.unwrap_or(&app.address),
    );
    match audience {
        Some(api) => {
            assert_eq!(at["aud"], serde_json::json!([api, app.url("/userinfo")]));
            let verifier = portcullis_verify::Verifier::from_issuer_with_config(
                &app.address,
                api,
                portcullis_verify::Config::new()
                    .allowed_algorithms([alg.unwrap_or(Alg::RS256).name()]),
            )
            .await
            .unwrap();
            let verified = verifier
                .verify(tokens.access_token().secret())
                .await
                .unwrap();
            assert_eq!(verified.sub, user.id);
        }
        None => assert_eq!(at["aud"], app.address.as_str()),
    }
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(
        format!("{:?}", header.alg),
        alg.unwrap_or(Alg::RS256).name(),
        "the client's access-token algorithm"
    );
    assert_eq!(at["client_id"], registered.id.as_str());
    assert_eq!(at["sub"], user.id.as_str());
    assert_eq!(at["auth_time"], auth_time.timestamp());
    assert_eq!(at["roles"], serde_json::json!(["student"]));

    // Userinfo with the access token.
    let info = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));

    // Refresh: a new access token and a rotated refresh token.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let rotated = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(rotated.secret(), refresh.secret());

    // RP-initiated logout with id_token_hint: signed out at once, back to the client.
    let logout = reqwest::Url::parse_with_params(
        &app.url("/logout"),
        &[
            ("id_token_hint", id_token.to_string().as_str()),
            ("post_logout_redirect_uri", web::POST_LOGOUT_URI),
            ("state", "bye"),
        ],
    )
    .unwrap();
    let resp = b.get(logout).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        web::location(&app, &resp),
        format!("{}?state=bye", web::POST_LOGOUT_URI)
    );
    let cleared = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("portcullis_session="))
        .expect("the SSO cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // The session is over: its refresh token and userinfo no longer work, and the browser
    // is no longer signed in.
    let err = client
        .exchange_refresh_token(&rotated)
        .unwrap()
        .request_async(&http)
        .await
        .expect_err("the session's refresh token is revoked");
    assert!(format!("{err:?}").contains("invalid_grant"), "{err:?}");
    let resp = http
        .get(app.url("/userinfo"))
        .bearer_auth(refreshed.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (_, challenge) = web::pkce();
    let mut params = crate::helpers::TestApp::code_request(&registered, &challenge, "openid");
    params.push(("prompt", "none"));
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    let back = web::location(&app, &resp);
    assert_eq!(
        web::param(&back, "error").as_deref(),
        Some("login_required")
    );
}
