//! Build script.
//!
//! - The test suite: when `PORTCULLIS_TEST_POSTGRES_URL` is unset at build time, the PostgreSQL
//!   variants of the integration tests are marked ignored, so `cargo test` reports them as
//!   skipped ("ignored, PostgreSQL skipped: …") instead of printing "ok".
//! - The release binary's code layout: `link/symbol-order.txt` lists the functions the server
//!   runs while serving (found by `bench/symbol-order.sh`), and the linker places them first and
//!   together. The server then maps about 2 MiB of its code while serving, not the 13 MiB that
//!   the same functions spread over the 22 MiB of code (one 64 KiB fault-around per scattered
//!   function) cost. Only where the linker is LLD, which takes the option: Rust's default on
//!   x86_64 Linux (since 1.90); names missing from the binary are skipped without a word.
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
    let default_lld = env("TARGET") == "x86_64-unknown-linux-gnu";
    // A linker chosen by hand (or LLD turned off) may not know the option.
    let linker_chosen = !env("RUSTC_LINKER").is_empty()
        || [
            "linker=",
            "linker-flavor",
            "linker-features",
            "link-self-contained",
        ]
        .iter()
        .any(|flag| env("CARGO_ENCODED_RUSTFLAGS").contains(flag));
    if env("PROFILE") != "release"
        || !default_lld
        || linker_chosen
        || env("PORTCULLIS_SYMBOL_ORDER") == "0"
    {
        return;
    }
    let file = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    if file.is_file() {
        println!(
            "cargo::rustc-link-arg-bin=portcullis=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo::rustc-link-arg-bin=portcullis=-Wl,--no-warn-symbol-ordering");
    }
}
