//! `portcullis health [--url URL]`: asks `/readyz`; exit 0 when ready.
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::config::Settings;

pub fn run(settings: &Settings, url: Option<String>) -> anyhow::Result<ExitCode> {
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let mut addr = settings.bind_addr()?;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{addr}")
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, body) = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let resp = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .with_context(|| format!("{base} did not answer"))?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        anyhow::Ok((status, body))
    })?;
    super::output::print_line(
        &serde_json::json!({ "url": base, "status": status.as_u16(), "body": body }).to_string(),
    )?;
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
