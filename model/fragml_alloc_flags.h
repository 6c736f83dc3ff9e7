/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flags of one page allocation, as the BPF programs record it (collector ring
 * buffer, identification feed, gate decision log) and as the feed's public
 * record carries it (loader/fragml_feed.h: FRAGML_FEED_F_* are these).
 * Defines only: included by BPF and by user space, installed.
 */
#ifndef FRAGML_ALLOC_FLAGS_H
#define FRAGML_ALLOC_FLAGS_H

#define FRAGML_ALLOC_F_EXTFRAG	0x01	/* fell back into a pageblock of another migratetype */
#define FRAGML_ALLOC_F_CLAIM	0x02	/* ... and claimed the whole pageblock */
#define FRAGML_ALLOC_F_KTHREAD	0x04	/* allocated by a kernel thread */
#define FRAGML_ALLOC_F_KMALLOC	0x08	/* slab record: a kmalloc cache (name empty, obj_size = kmalloc size) */

#endif /* FRAGML_ALLOC_FLAGS_H */
