//! Build script: only for the test suite. When `PORTCULLIS_TEST_POSTGRES_URL` is unset at build
//! time, the PostgreSQL variants of the integration tests are marked ignored, so `cargo test`
//! reports them as skipped ("ignored, PostgreSQL skipped: …") instead of printing "ok".
fn main() {
    println!("cargo::rustc-check-cfg=cfg(portcullis_test_postgres)");
    println!("cargo::rerun-if-env-changed=PORTCULLIS_TEST_POSTGRES_URL");
    if std::env::var("PORTCULLIS_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=portcullis_test_postgres");
    }
}
