// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of zpci_rrlock: only what the Rust crate cannot express.
 *
 * The identity of the kernel build the module was compiled against comes from generated
 * headers (UTS_RELEASE, UTS_VERSION) and from the vmlinux build-id read by Kbuild.
 * UTS_VERSION carries the build counter and link timestamp of that exact vmlinux, so it differs
 * between two builds of the same release.
 */
#include <generated/utsrelease.h>
#include <generated/utsversion.h>

#include "zr_glue.h"

#ifdef ZR_FORGE_IDENTITY
#undef UTS_VERSION
#define UTS_VERSION ZR_FORGE_IDENTITY
#endif

const char *const zr_built_release = UTS_RELEASE;
const char *const zr_built_version = UTS_VERSION;
const char *const zr_built_build_id = ZR_BUILD_ID;
