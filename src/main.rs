//! The `keepable` command: initialise logging, parse the command line, hand over to `cli`.

mod cli;

use clap::Parser;

/// mimalloc instead of the system allocator: a served answer makes many small, short-lived
/// allocations across two worker threads, where glibc's malloc was a tenth of the CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` (option 15 in its v2 and v3 headers): 0 returns memory to the system
/// as soon as it is free. With the default delay (10 ms), a purge waits for the thread's next
/// allocation, so memory a large load freed on a thread that then goes quiet stays resident.
/// `MIMALLOC_PURGE_DELAY` in the environment still decides when it is set.
fn give_freed_memory_back_at_once() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is always allowed; the value is one mimalloc documents.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    give_freed_memory_back_at_once();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEEPABLE_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli::Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
