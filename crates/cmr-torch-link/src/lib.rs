//! Build-script helper for packages that run libtorch through `tch`.
//!
//! `torch-sys` links libtorch dynamically but leaves two things to the final binary:
//!
//! 1. **Finding libtorch at run time.** Without an rpath the loader only looks in
//!    `LD_LIBRARY_PATH`. [`emit`] adds `-Wl,-rpath,<libtorch>/lib` so tests, examples, benches and
//!    binaries run with no environment set by hand.
//! 2. **Loading the CUDA backend.** Nothing in a Rust program references a symbol of
//!    `libtorch_cuda.so`, so linkers that default to `--as-needed` drop it, and
//!    `tch::Cuda::is_available()` is false even on a GPU machine. [`emit`] links it with
//!    `--no-as-needed` whenever the libtorch in use ships it.
//!
//! Cargo applies `rustc-link-arg` only to the targets of the package whose build script prints
//! it, so **every package with binaries, tests, examples or benches that use tch** needs it:
//!
//! ```toml
//! # Cargo.toml
//! [dependencies]
//! torch-sys = "0.26"       # direct dependency: gives build.rs DEP_TCH_LIBTORCH_LIB
//! [build-dependencies]
//! cmr-torch-link = "0.1"
//! ```
//!
//! ```text
//! // build.rs
//! fn main() {
//!     cmr_torch_link::emit();
//! }
//! ```

use std::path::{Path, PathBuf};

/// The libtorch library folder that `torch-sys` resolved, as its build script reports it to
/// packages that depend on it directly (`DEP_TCH_LIBTORCH_LIB`; `tch` is torch-sys's `links` key).
pub fn libtorch_lib_dir() -> Option<PathBuf> {
    std::env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from)
}

/// The linker arguments for a libtorch `lib` folder on a target OS (Cargo's
/// `CARGO_CFG_TARGET_OS` value). Pure, so it can be tested without a build.
pub fn link_args(lib_dir: &Path, target_os: &str) -> Vec<String> {
    let mut args = Vec::new();
    if target_os == "windows" {
        return args;
    }
    args.push(format!("-Wl,-rpath,{}", lib_dir.display()));
    if target_os == "linux" && lib_dir.join("libtorch_cuda.so").exists() {
        args.push("-Wl,--no-as-needed,-ltorch_cuda,--as-needed".to_string());
    }
    args
}

/// Prints the `cargo:rustc-link-arg` lines for this package's targets. Call it from `build.rs`
/// of a package that depends on `torch-sys` directly; it does nothing otherwise.
pub fn emit() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Some(lib_dir) = libtorch_lib_dir() else {
        println!(
            "cargo:warning=cmr-torch-link: DEP_TCH_LIBTORCH_LIB is not set; add torch-sys as a \
             direct dependency of this package so the libtorch rpath can be set"
        );
        return;
    };
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    for arg in link_args(&lib_dir, &target_os) {
        println!("cargo:rustc-link-arg={arg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpath_always_and_cuda_only_when_shipped() {
        let dir = std::env::temp_dir().join(format!("cmr-torch-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cpu_only = link_args(&dir, "linux");
        assert_eq!(cpu_only, vec![format!("-Wl,-rpath,{}", dir.display())]);

        std::fs::write(dir.join("libtorch_cuda.so"), b"").unwrap();
        let with_cuda = link_args(&dir, "linux");
        assert_eq!(with_cuda.len(), 2);
        assert!(with_cuda[1].contains("--no-as-needed,-ltorch_cuda"));
        // macOS has rpath but no --no-as-needed; Windows has neither.
        assert_eq!(link_args(&dir, "macos").len(), 1);
        assert!(link_args(&dir, "windows").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
