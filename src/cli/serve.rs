//! `portcullis serve` and `portcullis migrate`.
use std::process::ExitCode;

use crate::config::Settings;
use crate::startup::Application;
use crate::store::Db;

pub fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    for problem in settings.production_problems() {
        tracing::warn!("{problem}");
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        tracing::info!(issuer = %app.issuer(), port = app.port(), "portcullis is serving");
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

pub fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    eprintln!(
        "using database {}",
        crate::config::redact_url_password(&settings.database_url)
    );
    let db = Db::open(&settings.database_url, 1)?;
    let applied = db.migrate()?;
    super::print_json(&serde_json::json!({ "applied": applied }))
}
