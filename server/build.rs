//! Lays out the code an idle Vigil runs in one place in the `vigil` executable.
//!
//! An idle Vigil runs about 1 MB of its 30 MB of machine code, but that megabyte is spread over
//! the whole `.text`, and the kernel maps 64 KB around every page touched: 11 MB stay resident
//! for 1 MB used. `hot-code.txt` lists, in order, the symbols an idle run executed (written by
//! `./scripts/hot-code` from a trace); the linker puts them first, together. Symbols the file
//! names that a build no longer has are skipped silently, so a stale list costs only the gain.

fn main() {
    println!("cargo:rerun-if-changed=hot-code.txt");
    println!("cargo:rerun-if-env-changed=VIGIL_HOT_CODE");
    let target = std::env::var("TARGET").unwrap_or_default();
    // LLD (Rust's default linker on this target) reads a symbol-ordering file; other linkers
    // and targets link as before.
    if target != "x86_64-unknown-linux-gnu"
        || std::env::var_os("VIGIL_HOT_CODE").is_some_and(|v| v == "off")
    {
        return;
    }
    let list =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("hot-code.txt");
    if list.exists() {
        println!(
            "cargo:rustc-link-arg-bin=vigil=-Wl,--symbol-ordering-file={},--no-warn-symbol-ordering",
            list.display()
        );
    }
}
