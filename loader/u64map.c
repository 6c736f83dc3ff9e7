// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A small open-addressing hash (u64map.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "u64map.h"

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

int u64map_init(struct u64map *m, size_t cap)
{
	m->cap = cap;
	m->used = 0;
	m->live = 0;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	return m->keys && m->vals ? 0 : -ENOMEM;
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

int64_t u64map_get(const struct u64map *m, uint64_t k)
{
	for (size_t i = mix(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (!m->keys[i])
			return -1;
		if (m->keys[i] == k)
			return m->vals[i];
	}
	return -1;
}

static int u64map_grow(struct u64map *m);

int u64map_put(struct u64map *m, uint64_t k, uint32_t v)
{
	size_t i, slot = SIZE_MAX;

	if ((m->used + 1) * 4 > m->cap * 3 && u64map_grow(m))
		return -ENOMEM;
	/* the key itself past any tombstones (a put of a present key must not
	 * leave a second copy behind), else the first free or deleted slot */
	for (i = mix(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == k) {
			slot = i;
			break;
		}
		if (m->keys[i] == UINT64_MAX && slot == SIZE_MAX)
			slot = i;
		if (!m->keys[i]) {
			if (slot == SIZE_MAX)
				slot = i;
			break;
		}
	}
	i = slot;
	if (!m->keys[i])
		m->used++;
	if (m->keys[i] != k)
		m->live++;
	m->keys[i] = k;
	m->vals[i] = v;
	return 0;
}

void u64map_del(struct u64map *m, uint64_t k)
{
	for (size_t i = mix(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (!m->keys[i])
			return;
		if (m->keys[i] == k) {
			m->keys[i] = UINT64_MAX;	/* tombstone: counted in used until a rehash */
			m->live--;
			return;
		}
	}
}

/* Rehash when keys and tombstones fill 3/4: at twice the size when keys
 * alone fill half, else at the same size.  A map that keeps few keys through
 * many puts and deletes (the collector's allocations by page: thousands live,
 * millions over a run) would otherwise double for its tombstones without end,
 * each rehash a longer pause of the ring reader. */
static int u64map_grow(struct u64map *m)
{
	struct u64map n;

	if (u64map_init(&n, (m->live + 1) * 2 > m->cap ? m->cap * 2 : m->cap))
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != UINT64_MAX)
			u64map_put(&n, m->keys[i], m->vals[i]);
	u64map_free(m);
	*m = n;
	return 0;
}
