/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small open-addressing hash: u64 key -> u32 index into a record array (the
 * collector's allocations, regions and stacks).  Not installed.
 */
#ifndef FRAGML_U64MAP_H
#define FRAGML_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;		/* 0 = empty, UINT64_MAX = deleted */
	uint32_t *vals;
	size_t cap, used;	/* used: keys and tombstones */
	size_t live;		/* keys */
};

int u64map_init(struct u64map *m, size_t cap);
void u64map_free(struct u64map *m);
int64_t u64map_get(const struct u64map *m, uint64_t k);	/* -1: absent */
int u64map_put(struct u64map *m, uint64_t k, uint32_t v);
void u64map_del(struct u64map *m, uint64_t k);

#endif /* FRAGML_U64MAP_H */
