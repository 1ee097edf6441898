//! `/admin/clients`: the list (with search), a new client (from a preset), a client's page
//! (settings, edit, rotate the secret, delete). Changes go through `oauth::admin_clients`;
//! a new secret is shown once, on a `no-store` page.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::client_form::{grant_labels, ClientForm, GRANTS, PRESETS};
use super::{confirmed, done, get_page, not_found, param, post_form, when, Admin, Chrome};
use crate::http::browser::pages::render;
use crate::http::error::PageError;
use crate::oauth::admin_clients::{self, Limits};
use crate::oauth::client::{Client, ClientStore};
use crate::oauth::registration::SpecError;
use crate::state::AppState;
use crate::store::clients;

/// A client in the list.
pub struct ClientRowView {
    pub id: String,
    pub href: String,
    pub name: String,
    pub kind: &'static str,
    pub grants: String,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub chrome: Chrome,
    pub q: String,
    pub clients: Vec<ClientRowView>,
}

#[derive(Template)]
#[template(path = "admin/client_new.html")]
pub struct NewClientPage {
    pub chrome: Chrome,
    pub preset: String,
    pub presets: &'static [(&'static str, &'static str, &'static str)],
    pub grants: &'static [&'static str],
    pub form: ClientForm,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub client: Client,
    pub href: String,
    pub grant_list: String,
    pub created: String,
    pub updated: String,
    /// Editable here (an operator's client, not a self-registered or metadata-document one).
    pub managed: bool,
    pub grants: &'static [&'static str],
    pub form: ClientForm,
    pub errors: Vec<String>,
}

/// A new secret, shown once (a new client, or a rotation).
#[derive(Template)]
#[template(path = "admin/client_secret.html")]
pub struct SecretPage {
    pub chrome: Chrome,
    pub title: &'static str,
    pub client_id: String,
    pub client_name: String,
    pub href: String,
    pub secret: Option<String>,
}

/// The path of a client's page (its id encoded: a metadata document's id is a URL).
pub fn href(id: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/admin/clients/{id}")
}

fn limits(state: &AppState) -> Limits {
    Limits::from_settings(&state.settings)
}

/// A use case's error: the spec's problems, or a failure.
fn problems(e: anyhow::Error) -> Result<Vec<String>, PageError> {
    match e.downcast::<SpecError>() {
        Ok(SpecError(list)) => Ok(list),
        Err(e) => Err(PageError::internal(e)),
    }
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let q = param(&params, "q").unwrap_or("").to_string();
    let needle = q.to_lowercase();
    let rows = state
        .db
        .run(|c| Ok::<_, PageError>(clients::list(c)?))
        .await?;
    let mut found = Vec::new();
    for row in rows {
        let client = Client::try_from(row).map_err(PageError::internal)?;
        if needle.is_empty()
            || client.name.to_lowercase().contains(&needle)
            || client.id.to_lowercase().contains(&needle)
        {
            found.push(ClientRowView {
                href: href(&client.id),
                kind: if client.public {
                    "public"
                } else {
                    "confidential"
                },
                grants: grant_labels(&client),
                id: client.id,
                name: client.name,
            });
        }
    }
    found.sort_by_key(|c| c.name.to_lowercase());
    let page = ClientsPage {
        chrome: admin.chrome("clients", params.get("done")),
        q,
        clients: found,
    };
    Ok(render(StatusCode::OK, &page))
}

fn new_page(admin: &Admin, preset: &str, form: ClientForm, errors: Vec<String>) -> NewClientPage {
    NewClientPage {
        chrome: admin.chrome("clients", None),
        preset: preset.to_string(),
        presets: &PRESETS,
        grants: &GRANTS,
        form,
        errors,
    }
}

/// `GET /admin/clients/new?preset=<web|spa|native|service|mcp>`.
pub async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let preset = params.get("preset").unwrap_or("web");
    let Some(form) = ClientForm::preset(preset) else {
        return Err(PageError::bad_request("There is no such preset.")
            .with_link("/admin/clients/new", "New client"));
    };
    Ok(render(
        StatusCode::OK,
        &new_page(&admin, preset, form, Vec::new()),
    ))
}

/// `POST /admin/clients/new`: creates the client; its secret (if any) shown once.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    confirmed(&params, "/admin/clients/new")?;
    let preset = params.get("preset").unwrap_or("").to_string();
    let form = ClientForm::from_params(&params);
    let spec = match form.spec(None) {
        Ok(spec) => spec,
        Err(errors) => {
            let page = new_page(&admin, &preset, form, errors);
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let (limits, actor, now) = (limits(&state), admin.actor_name(), admin.ctx.now);
    let made = state
        .db
        .run(move |c| Ok::<_, PageError>(admin_clients::create(c, &spec, &limits, &actor, now)))
        .await?;
    match made {
        Ok(registered) => {
            let page = SecretPage {
                chrome: admin.chrome("clients", None),
                title: "Client created",
                href: href(&registered.client.id),
                client_id: registered.client.id,
                client_name: registered.client.name,
                secret: registered.secret,
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(e) => {
            let page = new_page(&admin, &preset, form, problems(e)?);
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}

async fn load(state: &AppState, id: &str) -> Result<Client, PageError> {
    let id = id.to_string();
    state
        .db
        .run(move |c| Ok::<_, PageError>(c.find_client(&id)?))
        .await?
        .ok_or_else(|| not_found("There is no such client."))
}

fn client_page(
    admin: &Admin,
    client: Client,
    form: Option<ClientForm>,
    errors: Vec<String>,
    notice: Option<&str>,
) -> ClientPage {
    ClientPage {
        chrome: admin.chrome("clients", notice),
        href: href(&client.id),
        grant_list: grant_labels(&client),
        created: when(client.created_at),
        updated: when(client.updated_at),
        managed: crate::declarative::diff::is_managed(&client),
        grants: &GRANTS,
        form: form.unwrap_or_else(|| ClientForm::of(&client)),
        errors,
        client,
    }
}

/// `GET /admin/clients/{id}`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let client = load(&state, &id).await?;
    let page = client_page(&admin, client, None, Vec::new(), params.get("done"));
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/clients/{id}`: saves the edited settings (`admin_clients::update`).
pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let client = load(&state, &id).await?;
    confirmed(&params, &href(&client.id))?;
    let form = ClientForm::from_params(&params);
    let spec = match form.spec(Some(&client)) {
        Ok(spec) => spec,
        Err(errors) => {
            let page = client_page(&admin, client, Some(form), errors, None);
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let (limits, actor, now) = (limits(&state), admin.actor_name(), admin.ctx.now);
    let client_id = client.id.clone();
    let updated = state
        .db
        .run(move |c| {
            Ok::<_, PageError>(admin_clients::update(
                c, &client_id, &spec, &limits, &actor, now,
            ))
        })
        .await?;
    match updated {
        Ok(Some((stored, fields))) => {
            let notice = if fields.is_empty() {
                "client-unchanged"
            } else {
                "client-updated"
            };
            Ok(done(&href(&stored.id), notice))
        }
        Ok(None) => Err(not_found("There is no such client the console can edit.")),
        Err(e) => {
            let page = client_page(&admin, client, Some(form), problems(e)?, None);
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}

/// `POST /admin/clients/{id}/rotate`: a new secret, shown once.
pub async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let client = load(&state, &id).await?;
    confirmed(&params, &href(&client.id))?;
    if client.public {
        return Err(
            PageError::bad_request("A public client has no secret to rotate.")
                .with_link(href(&client.id), "Back to the client"),
        );
    }
    let (actor, now, client_id) = (admin.actor_name(), admin.ctx.now, client.id.clone());
    let secret = state
        .db
        .run(move |c| Ok::<_, PageError>(admin_clients::rotate_secret(c, &client_id, &actor, now)?))
        .await?
        .ok_or_else(|| not_found("There is no such confidential client."))?;
    let page = SecretPage {
        chrome: admin.chrome("clients", None),
        title: "Secret rotated",
        href: href(&client.id),
        client_id: client.id,
        client_name: client.name,
        secret: Some(secret),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/clients/{id}/delete`.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let client_id = id.into_inner();
    confirmed(&params, &href(&client_id))?;
    let (actor, now) = (admin.actor_name(), admin.ctx.now);
    let deleted = state
        .db
        .run(move |c| Ok::<_, PageError>(admin_clients::delete(c, &client_id, &actor, now)?))
        .await?;
    if !deleted {
        return Err(not_found("There is no such client."));
    }
    Ok(done("/admin/clients", "client-deleted"))
}
