//! `tests/schemathesis/run.sh` against the admin API's OpenAPI document on a live server: the
//! document validates as OpenAPI 3.1 and schemathesis finds no server error, no response its
//! schema does not describe, no undocumented status or content type.
use std::path::Path;
use std::process::Command;

#[test]
fn schemathesis_finds_nothing_in_the_admin_and_account_apis() {
    let have = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("python3") && have("curl")) {
        // Outside CI a machine without python3 or curl skips; CI installs them (.ci/run).
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 (with venv) and curl"
        );
        eprintln!("schemathesis skipped: python3 or curl is missing");
        return;
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_portcullis"));
    // <target>/debug/portcullis: the virtualenv goes beside the build, reused between runs.
    let target = bin.parent().and_then(Path::parent).expect("target dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("PORTCULLIS_BIN", bin)
        .env("SCHEMATHESIS_VENV", target.join("schemathesis-venv"))
        .output()
        .expect("run tests/schemathesis/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("valid OpenAPI 3.1.0"),
        "the document was not validated:\n{stdout}"
    );
    // One summary a pass (the account API, then ending its sessions, then the whole document as
    // the service client): "N generated, N passed", none with failures.
    let summaries: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" generated, "))
        .collect();
    assert_eq!(summaries.len(), 3, "{stdout}");
    assert!(
        summaries
            .iter()
            .all(|l| l.trim_end().ends_with(" passed") && !l.contains("failure")),
        "{stdout}"
    );
}
