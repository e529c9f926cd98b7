/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Symbols the C glue of zpci_rrlock provides to the Rust crate. Every declaration here has a
 * twin in an `extern "C"` block of rust/glue.rs.
 */
#ifndef ZR_GLUE_H
#define ZR_GLUE_H

extern const char *const zr_built_release;
extern const char *const zr_built_version;
extern const char *const zr_built_build_id;

#endif /* ZR_GLUE_H */
