/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Inside libfragml: the guard's part of fragml_open/publish (loader/guard.c). */
#ifndef FRAGML_GUARD_INTERNAL_H
#define FRAGML_GUARD_INTERNAL_H

#include "fragml_load.h"

/* Install the guard, or refresh what it protects if it runs; fills info->guard_*. */
void fragml_guard_setup(struct fragml_handle *h, struct fragml_open_info *info);

/* Protect every map and link reachable from the pins (after a publish, a swap). */
void fragml_guard_refresh(struct fragml_handle *h);

/* Protect one new map (a model version) before it is filled and published. */
void fragml_guard_protect_fd(struct fragml_handle *h, int map_fd);

/* Is there a guard pinned in dir (it may refuse this process)? */
bool fragml_guard_pinned(const char *dir);

/* Entries of a pin directory, not counting dot files (load.c). */
int fragml_pin_count(const char *dir);

/* Unpin a directory tree (load.c). */
int fragml_unpin_tree(const char *dir);

#endif
