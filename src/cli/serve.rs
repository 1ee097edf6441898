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
        // start-up alone touched is given back (`memory`), on a thread of its own (it may wait
        // for the disk).
        let give_back = std::thread::Builder::new()
            .name("give-back".into())
            .spawn(|| {
                std::thread::sleep(std::time::Duration::from_secs(1));
                crate::memory::release_start_up_code();
            });
        if let Err(e) = give_back {
            tracing::debug!(error = %e, "could not start the give-back thread");
        }
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
