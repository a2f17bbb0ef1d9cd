//! The `strata` binary's global allocator: mimalloc, or the system's `malloc` (glibc's on Linux)
//! when the run has a memory limit. Chosen once, at the process's first allocation, and never
//! changed, so every block is freed by the allocator that handed it out.
//!
//! Why two (measured in `bench/NOTES.md`, "What the memory above the limit is"): without a limit
//! the full 1,000,000-customer run peaks at 4.01 GB with mimalloc and 6.50 GB with glibc's
//! `malloc`, at the same speed; with `--memory-limit 1GB` its largest stage, dwd_order_latest,
//! peaks at 1.76-2.01 GB with mimalloc, which keeps freed pages for reuse, and at 0.86 GB, under
//! the limit, with glibc's.
//!
//! The choice, read with `getenv` (which does not allocate) at the first allocation:
//! `STRATA_ALLOCATOR=system` or `=mimalloc` when set; otherwise `system` when
//! `STRATA_MEMORY_LIMIT` is set; otherwise mimalloc. A limit given by `--memory-limit` or a
//! pipeline's `engine.memory_limit` is known only once the run has read its arguments and
//! pipeline; [`restart_with_system_allocator`] then starts the binary again in place (`exec`,
//! the same process id, arguments and descriptors) with `STRATA_ALLOCATOR=system`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that names the allocator: `system` or `mimalloc`.
pub const VARIABLE: &str = "STRATA_ALLOCATOR";

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// The allocator in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mimalloc,
    System,
}

impl Kind {
    /// The name `STRATA_ALLOCATOR` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mimalloc => "mimalloc",
            Kind::System => "system",
        }
    }
}

/// The process's global allocator; see the module documentation.
pub struct Chosen;

fn choice() -> u8 {
    match CHOICE.load(Ordering::Relaxed) {
        UNDECIDED => {
            // Two threads deciding at once read the same environment and store the same value.
            let c = decide();
            CHOICE.store(c, Ordering::Relaxed);
            c
        }
        c => c,
    }
}

/// Reads the environment without allocating.
fn decide() -> u8 {
    match variable(c"STRATA_ALLOCATOR") {
        Some(b"system") => SYSTEM,
        Some(b"mimalloc") => MIMALLOC,
        _ if variable(c"STRATA_MEMORY_LIMIT").is_some_and(|v| !v.is_empty()) => SYSTEM,
        _ => MIMALLOC,
    }
}

fn variable(name: &std::ffi::CStr) -> Option<&'static [u8]> {
    // SAFETY: getenv reads the environment block, which nothing in this process modifies (the
    // binary never calls setenv; children get theirs through Command::env); the returned string
    // lives as long as the environment.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_bytes())
    }
}

/// The allocator this process uses.
pub fn in_use() -> Kind {
    if choice() == SYSTEM {
        Kind::System
    } else {
        Kind::Mimalloc
    }
}

/// Checks `STRATA_ALLOCATOR`: `Err` with the value when it is set to neither name.
pub fn check_variable() -> Result<(), String> {
    match std::env::var_os(VARIABLE) {
        Some(v) if v != "system" && v != "mimalloc" => Err(v.to_string_lossy().into_owned()),
        _ => Ok(()),
    }
}

// SAFETY: every call goes to the allocator chosen before the first one, which never changes;
// both allocators uphold GlobalAlloc's contract.
unsafe impl GlobalAlloc for Chosen {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe {
            if choice() == SYSTEM {
                System.alloc(layout)
            } else {
                mimalloc::MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        unsafe {
            if choice() == SYSTEM {
                System.alloc_zeroed(layout)
            } else {
                mimalloc::MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the same allocator (the choice never changes).
        unsafe {
            if choice() == SYSTEM {
                System.dealloc(ptr, layout)
            } else {
                mimalloc::MiMalloc.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for dealloc.
        unsafe {
            if choice() == SYSTEM {
                System.realloc(ptr, layout, new_size)
            } else {
                mimalloc::MiMalloc.realloc(ptr, layout, new_size)
            }
        }
    }
}

/// Returns the memory the allocator holds and no longer uses to the system: mimalloc's
/// `mi_collect` (the calling thread's heap and abandoned segments), glibc's `malloc_trim(0)`
/// (every arena); see `strata::engine::guard::set_release`.
pub fn release_free_memory() {
    match in_use() {
        // SAFETY: mi_collect takes no pointers and may be called on any thread at any time.
        Kind::Mimalloc => unsafe { libmimalloc_sys::mi_collect(true) },
        Kind::System => trim(),
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers; it locks each arena while it trims.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// Called once a run knows it has a memory limit, before it has read data or printed anything:
/// under mimalloc, starts this binary again in place with `STRATA_ALLOCATOR=system`. Returns
/// only when that is not needed or the `exec` failed (the run then goes on under mimalloc, and
/// the failure is logged).
pub fn restart_with_system_allocator() {
    if in_use() == Kind::System || std::env::var_os(VARIABLE).is_some() {
        return;
    }
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            tracing::warn!(error = %e, "the memory limit keeps mimalloc: no path to this binary");
            return;
        }
    };
    tracing::debug!("memory limit given: starting again under the system allocator");
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(argv0)
        .args(args)
        .env(VARIABLE, "system")
        .exec();
    tracing::warn!(error = %err, "the memory limit keeps mimalloc: could not start again");
}
