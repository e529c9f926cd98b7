// SPDX-License-Identifier: GPL-2.0
/* Livepatch tables of zr_klp_bad (see zr_klp_test.h). */
#define ZR_KLP_NEW_FUNC zr_klp_bad_version_show
#include "zr_klp_test.h"
