/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Counters and limits of extfrag_blocks.bpf.c, shared with evalblocks.c. */
#ifndef FRAGML_EXTFRAG_BLOCKS_H
#define FRAGML_EXTFRAG_BLOCKS_H

#define EXTFRAG_PAGEBLOCK_ORDER	9	/* x86-64 with THP */
#define EXTFRAG_MAX_BLOCKS	(1U << 13)	/* pageblocks of 16 GiB of physical address space */

enum extfrag_count {
	EXTFRAG_EVENTS,		/* every mm_page_alloc_extfrag */
	EXTFRAG_POLLUTING,	/* fallback_order < pageblock order, block kept its type */
	EXTFRAG_NONMOVABLE,	/* alloc_migratetype != MIGRATE_MOVABLE */
	EXTFRAG_OUT_OF_RANGE,	/* pfn beyond EXTFRAG_MAX_BLOCKS: its block not recorded */
	EXTFRAG_NM_POLLUTING,	/* polluting and non-movable: unmovable/reclaimable pages
				 * left in a block of another type (compaction cannot
				 * move them out) */
	EXTFRAG_NR,
};

#endif /* FRAGML_EXTFRAG_BLOCKS_H */
