/* SPDX-License-Identifier: GPL-2.0 */
/* The C floor of zr_bench (zr_bench_glue.c), called from its Rust crate. */
#ifndef ZR_BENCH_H
#define ZR_BENCH_H

void zr_c_lock(void);
void zr_c_unlock(void);

#endif /* ZR_BENCH_H */
