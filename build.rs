//! Compiles the JSON tables in `taxonomy/` into Rust (see `build/codegen.rs`).

#[path = "build/codegen.rs"]
mod codegen;

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let taxonomy = manifest.join("taxonomy");
    println!("cargo::rerun-if-changed=build");
    for input in codegen::inputs(&taxonomy) {
        println!("cargo::rerun-if-changed={}", input.display());
    }
    if let Err(problems) = codegen::run(&taxonomy, Path::new(&out)) {
        eprintln!("{problems}");
        // Cargo shows a build script's stderr only on failure; the list above is the report.
        std::process::exit(1);
    }
}
