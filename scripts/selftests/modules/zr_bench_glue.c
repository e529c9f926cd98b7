// SPDX-License-Identifier: GPL-2.0
/*
 * The C floor of zr_bench: the reentrant lock's algorithm (rust/rescan_lock.rs: the owner read
 * from the mutex's owner word, one depth counter touched only by the owner) as a maintainer
 * would write it in C, on a mutex of its own, compiled by the kernel's C compiler. No
 * statistics: what the lock itself costs.
 */
#include <linux/mutex.h>
#include <linux/sched.h>

#include "zr_bench.h"

/* MUTEX_FLAGS of kernel/locking/mutex.h (private): the low bits of the owner word. */
#define ZR_MUTEX_FLAGS 0x07UL

static DEFINE_MUTEX(zr_c_mutex);
static unsigned int zr_c_depth;

static inline bool zr_c_owned(void)
{
	unsigned long owner = (unsigned long)atomic_long_read(&zr_c_mutex.owner);

	return (owner & ~ZR_MUTEX_FLAGS) == (unsigned long)current;
}

void zr_c_lock(void)
{
	if (zr_c_owned()) {
		zr_c_depth++;
		return;
	}
	mutex_lock(&zr_c_mutex);
}

void zr_c_unlock(void)
{
	if (zr_c_depth) {
		zr_c_depth--;
		return;
	}
	mutex_unlock(&zr_c_mutex);
}
