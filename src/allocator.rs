//! The `strata` binary's global allocator: mimalloc, or, when the run has a memory limit,
//! mimalloc for small blocks and the system's `malloc` (glibc's on Linux) mapping each block of
//! 4 MiB or more on its own ("split"). Chosen once, at the process's first allocation, and never
//! changed, so every block is freed by the allocator that handed it out (under "split" the
//! block's size, which `dealloc` is given, routes it back the same way).
//!
//! Why (measured in `bench/NOTES.md`, "Allocators under a memory limit"): without a limit the
//! full 1,000,000-customer run peaks at 4.01 GB with mimalloc and 6.50 GB with glibc's `malloc`
//! alone, at the same speed. Under a limit, mimalloc keeps the large blocks a stage freed (hash
//! tables, sort buffers) for reuse, above the limit: at 1,000,000 customers with
//! `--memory-limit 1GB` dwd_order_latest peaked at 1.76-2.01 GB with it and at 0.86 GB with
//! glibc's; but glibc's alone made the identity stage at 5,000,000 customers 2.5 times slower
//! and larger (278 s / 5.60 GB against mimalloc's 110 s / 3.92 GB; split: 113 s / 3.24 GB). A
//! block mapped on its own is unmapped when freed, so what a stage releases leaves the process
//! at once; small blocks stay with mimalloc, which is fast at them.
//!
//! The choice, read with `getenv` (which does not allocate) at the first allocation:
//! `STRATA_ALLOCATOR=mimalloc`, `=split` or `=system` (glibc's alone) when set; otherwise
//! `split` when `STRATA_MEMORY_LIMIT` is set; otherwise mimalloc. A limit given by
//! `--memory-limit` or a pipeline's `engine.memory_limit` is known only once the run has read
//! its arguments and pipeline; [`restart_for_memory_limit`] then starts the binary again in
//! place (`exec`: the same process id, arguments and descriptors) with `STRATA_ALLOCATOR=split`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that names the allocator: `mimalloc`, `split` or `system`.
pub const VARIABLE: &str = "STRATA_ALLOCATOR";

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;
const SPLIT: u8 = 3;

/// Under [`Kind::Split`], blocks of this size or more (with at most page alignment) come from
/// the system's allocator, told to map each of them on its own and unmap it when freed.
pub const LARGE_BLOCK: usize = 4 << 20;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// The allocator in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mimalloc,
    System,
    /// mimalloc for blocks under [`LARGE_BLOCK`], the system's for the rest.
    Split,
}

impl Kind {
    /// The name `STRATA_ALLOCATOR` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mimalloc => "mimalloc",
            Kind::System => "system",
            Kind::Split => "split",
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
    let c = match variable(c"STRATA_ALLOCATOR") {
        Some(b"system") => SYSTEM,
        Some(b"mimalloc") => MIMALLOC,
        Some(b"split") => SPLIT,
        _ if variable(c"STRATA_MEMORY_LIMIT").is_some_and(|v| !v.is_empty()) => SPLIT,
        _ => MIMALLOC,
    };
    if c == SPLIT {
        map_large_blocks();
    }
    c
}

/// Has glibc's `malloc` map every block of [`LARGE_BLOCK`] bytes or more on its own (a fixed
/// threshold, which also turns off glibc's raising of it), so that freeing one unmaps it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn map_large_blocks() {
    // SAFETY: mallopt takes two integers and changes only glibc's own settings.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK as libc::c_int);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn map_large_blocks() {}

fn large(layout: &Layout) -> bool {
    layout.size() >= LARGE_BLOCK && layout.align() <= 4096
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
    match choice() {
        SYSTEM => Kind::System,
        SPLIT => Kind::Split,
        _ => Kind::Mimalloc,
    }
}

/// Checks `STRATA_ALLOCATOR`: `Err` with the value when it is set to none of the three names.
pub fn check_variable() -> Result<(), String> {
    match std::env::var_os(VARIABLE) {
        Some(v) if v != "system" && v != "mimalloc" && v != "split" => {
            Err(v.to_string_lossy().into_owned())
        }
        _ => Ok(()),
    }
}

// SAFETY: every call goes to the allocator chosen before the first one, which never changes;
// both allocators uphold GlobalAlloc's contract.
unsafe impl GlobalAlloc for Chosen {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe {
            match choice() {
                SYSTEM => System.alloc(layout),
                SPLIT if large(&layout) => System.alloc(layout),
                _ => mimalloc::MiMalloc.alloc(layout),
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        unsafe {
            match choice() {
                SYSTEM => System.alloc_zeroed(layout),
                SPLIT if large(&layout) => System.alloc_zeroed(layout),
                _ => mimalloc::MiMalloc.alloc_zeroed(layout),
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the same allocator: the choice never changes, and under
        // `Split` the layout (the one it was allocated with) routes it the same way.
        unsafe {
            match choice() {
                SYSTEM => System.dealloc(ptr, layout),
                SPLIT if large(&layout) => System.dealloc(ptr, layout),
                _ => mimalloc::MiMalloc.dealloc(ptr, layout),
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for dealloc; the caller guarantees `new_size` with `layout.align()` is a
        // valid layout.
        unsafe {
            match choice() {
                SYSTEM => System.realloc(ptr, layout, new_size),
                SPLIT => {
                    let new = Layout::from_size_align_unchecked(new_size, layout.align());
                    match (large(&layout), large(&new)) {
                        (true, true) => System.realloc(ptr, layout, new_size),
                        (false, false) => mimalloc::MiMalloc.realloc(ptr, layout, new_size),
                        // Across the threshold: a block from the other allocator.
                        _ => {
                            let moved = self.alloc(new);
                            if !moved.is_null() {
                                let n = layout.size().min(new_size);
                                std::ptr::copy_nonoverlapping(ptr, moved, n);
                                self.dealloc(ptr, layout);
                            }
                            moved
                        }
                    }
                }
                _ => mimalloc::MiMalloc.realloc(ptr, layout, new_size),
            }
        }
    }
}

/// Returns the memory the allocator holds and no longer uses to the system: mimalloc's
/// `mi_collect` (the calling thread's heap and abandoned segments), glibc's `malloc_trim(0)`
/// (every arena); see `strata::engine::guard::set_release`.
pub fn release_free_memory() {
    match in_use() {
        Kind::Split => {
            // SAFETY: as below.
            unsafe { libmimalloc_sys::mi_collect(true) };
            trim();
        }
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
/// under mimalloc chosen by default, starts this binary again in place with
/// `STRATA_ALLOCATOR=split`. Returns only when that is not needed (another allocator, or
/// `STRATA_ALLOCATOR` set) or the `exec` failed (the run then goes on under mimalloc, and the
/// failure is logged).
pub fn restart_for_memory_limit() {
    // Tried once per process: a backfill calls this for every date, and a failed `exec` is
    // reported once.
    static TRIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if in_use() != Kind::Mimalloc
        || std::env::var_os(VARIABLE).is_some()
        || TRIED.swap(true, Ordering::Relaxed)
    {
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
    tracing::debug!("memory limit given: starting again with large blocks mapped on their own");
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(argv0)
        .args(args)
        .env(VARIABLE, "split")
        .exec();
    tracing::warn!(error = %err, "the memory limit keeps mimalloc: could not start again");
}
