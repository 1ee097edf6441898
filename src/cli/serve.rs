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
        // A second after serving began (the workers started, the first reloads ran): what
        // start-up alone touched is given back (`memory`).
        actix_web::rt::spawn(async {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            crate::memory::release_start_up_code();
        });
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
