//! Links the phone's library with packed relative relocations (`DT_RELR`): a table of addresses
//! to fix up at load time, written as bitmaps instead of 24 bytes each, which is most of what a
//! position-independent library relocates. Android reads them from API level 28 on (the app needs
//! 29) and glibc from 2.36; Apple's linker packs its fixups on its own.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
}
