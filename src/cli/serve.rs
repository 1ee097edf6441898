//! `portcullis serve`.
use std::process::ExitCode;

use crate::config::Settings;
use crate::startup::Application;

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
