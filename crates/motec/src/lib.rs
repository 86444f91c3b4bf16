//! # pitwall-motec: MoTeC i2 `.ld`/`.ldx` files (being built)
