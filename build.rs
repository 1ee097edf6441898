//! Build script.
//!
//! - The test suite: when `PORTCULLIS_TEST_POSTGRES_URL` is unset at build time, the PostgreSQL
//!   variants of the integration tests are marked ignored, so `cargo test` reports them as
//!   skipped ("ignored, PostgreSQL skipped: …") instead of printing "ok".
//! - The release binary's code layout: `link/symbol-order.txt` lists the functions the server
//!   runs while serving (found by `bench/symbol-order.sh`), and the linker places them first and
//!   together: 1.8 MiB of code instead of pieces all over its 22 MiB, each of which kept a
//!   64 KiB or larger block mapped (DESIGN §9 "Hot code together"). Only where the linker is
//!   LLD, which takes the option (a test link tells: Rust's default on x86_64 Linux since 1.90,
//!   not GNU ld or gold); names missing from the binary are skipped without a word.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(portcullis_test_postgres)");
    println!("cargo::rerun-if-env-changed=PORTCULLIS_TEST_POSTGRES_URL");
    if std::env::var("PORTCULLIS_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=portcullis_test_postgres");
    }
    symbol_order();
}

fn symbol_order() {
    println!("cargo::rerun-if-changed=link/symbol-order.txt");
    println!("cargo::rerun-if-env-changed=PORTCULLIS_SYMBOL_ORDER");
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    if env("PROFILE") != "release"
        || !env("TARGET").contains("linux")
        || env("PORTCULLIS_SYMBOL_ORDER") == "0"
    {
        return;
    }
    let file = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    if !file.is_file() {
        return;
    }
    let args = [
        format!("-Wl,--symbol-ordering-file={}", file.display()),
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    if links_with(&args) {
        for arg in args {
            println!("cargo::rustc-link-arg-bin=portcullis={arg}");
        }
    }
}

/// Whether an empty program links with `link_args` added, built the way this build builds
/// (compiler, target, flags, linker): LLD takes `--symbol-ordering-file`, GNU ld and gold don't,
/// and which one links here depends on the toolchain (LLD is rustup's default on x86_64 Linux
/// since 1.90, not a distribution's) and on the flags. Only a try tells.
fn links_with(link_args: &[String]) -> bool {
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let out = std::path::PathBuf::from(env("OUT_DIR"));
    let source = out.join("symbol_order_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut probe = std::process::Command::new(rustc);
    probe
        .arg("--target")
        .arg(env("TARGET"))
        .arg("-o")
        .arg(out.join("symbol_order_probe"))
        .arg(&source);
    for flag in env("CARGO_ENCODED_RUSTFLAGS")
        .split('\x1f')
        .filter(|f| !f.is_empty())
    {
        probe.arg(flag);
    }
    if !env("RUSTC_LINKER").is_empty() {
        probe.arg(format!("-Clinker={}", env("RUSTC_LINKER")));
    }
    for arg in link_args {
        probe.arg(format!("-Clink-arg={arg}"));
    }
    probe
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
