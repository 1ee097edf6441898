use clap::Parser;

/// jemalloc instead of glibc's malloc for the server's own (Rust) allocations. After bursts of
/// 2,000 connections glibc kept the freed connection buffers and request state in its
/// per-thread arenas for good (idle RSS 26 → 95 MiB, never back); with jemalloc it settles at
/// 43–46 MiB. Its background thread returns freed pages to the OS on its own, also while every
/// other thread of the server sleeps; mimalloc, tried first, purges only when the thread owning
/// the memory allocates again, so memory freed into idle threads stayed (58 MiB after the same
/// bursts, and 46 MiB idle with its default eager arena commit). bench/RESULTS.md, 2026-12-06.
/// C libraries (OpenSSL, SQLite, libpq) keep glibc's malloc. tikv-jemallocator is maintained
/// (TiKV's) and builds jemalloc from source with `cc` and `make`.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings (a C string it reads at start, hence the fixed-size array: a thin
/// pointer): purging by a background thread; one arena (the default, four per core, 8 here,
/// held ~1 MiB more at peak for no measurable gain in speed); freed pages go
/// back to the OS within about a second (`dirty_decay_ms`), with no second, lazily freed stage
/// (`muzzy_decay_ms`).
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 70] =
    b"background_thread:true,narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    portcullis::cli::run(portcullis::cli::Cli::parse())
}
