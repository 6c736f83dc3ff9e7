// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * alloc-hint: how a userspace allocator (jemalloc/tcmalloc-style arena
 * manager, a JVM, a database buffer pool) could ask fragml "is this
 * process's memory being fragmented now?".
 *
 * The allocator keeps a feed subscription open (one socket, no trainer, no
 * BPF) and folds the records of its own pid into a decaying state; the
 * question is then a cheap, local call: alloc_hint_fragmenting().  A `yes`
 * means the kernel is placing this process's unmovable/reclaimable pages
 * (pipe and socket buffers, page tables, slab objects it causes) into
 * pageblocks of other types and the lifetime model expects them to stay:
 * the allocator can react — reuse buffers instead of growing, defer
 * MADV_HUGEPAGE/khugepaged collapse of new arenas, or back off.
 *
 *   alloc-hint --pid PID [--window S] [--socket PATH] [--watch]
 *
 * Prints one line per window: "pid=.. fragmenting=yes|no ..." and, without
 * --watch, exits 0 for yes and 1 for no (2 on errors).
 *
 * Uses only the public libfragml API (<fragml/fragml_feed.h> once installed).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fragml_feed.h"

/* ---- the part an allocator would embed ---- */

struct alloc_hint {
	struct fragml_feed *feed;
	uint32_t pid;
	/* counts of the current window, weighted by sampling */
	uint64_t pages, long_pages, fallbacks;
	uint64_t blocks[64];		/* distinct pageblocks it made mixed (first 64) */
	unsigned int n_blocks;
	uint32_t model_version;
	char comm[16];
};

/* Thresholds: polluting a pageblock is fragmentation by definition; a stream
 * of pages the model calls long-lived (>= 1 MB/s) is fragmentation about to
 * happen once the free lists of their type run dry. */
#define HINT_MIN_FALLBACK_BLOCKS	1
#define HINT_MIN_LONG_PAGES_PER_S	256
/* Largest allocation order a record can carry (1 GB pages are order 18). */
#define ALLOC_HINT_MAX_ORDER		20

static int alloc_hint_open(struct alloc_hint *h, uint32_t pid, const char *sock,
			   struct fragml_err *err)
{
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	return fragml_feed_connect(&h->feed, sock, err);
}

static void alloc_hint_fold(struct alloc_hint *h, const struct fragml_feed_record *r)
{
	uint64_t pages;

	if (r->kind != FRAGML_FEED_ALLOC || r->tgid != h->pid)
		return;
	/* order is a byte off the socket: beyond any page size it is no record
	 * the kernel wrote (and a shift by >= 64 is undefined) */
	if (r->order > ALLOC_HINT_MAX_ORDER)
		return;
	pages = (uint64_t)r->weight << r->order;
	h->pages += pages;
	h->model_version = r->model_version;
	memcpy(h->comm, r->comm, sizeof(h->comm));
	if (r->model_version && r->action == FRAGML_FEED_LONG_LIVED)
		h->long_pages += pages;
	if (r->flags & FRAGML_FEED_F_EXTFRAG) {
		unsigned int i;

		h->fallbacks++;
		for (i = 0; i < h->n_blocks && h->blocks[i] != r->pageblock; i++)
			;
		if (i == h->n_blocks && h->n_blocks < 64)
			h->blocks[h->n_blocks++] = r->pageblock;
	}
}

/* Read the feed for up to `ms`, folding in this process's records. */
static int alloc_hint_poll(struct alloc_hint *h, int ms, struct fragml_err *err)
{
	struct fragml_feed_record r;
	struct timespec t0, t;
	int ret, left = ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0) {
		ret = fragml_feed_next(h->feed, &r, left, err);
		if (ret < 0)
			return ret;
		if (ret > 0)
			alloc_hint_fold(h, &r);
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return 0;
}

/* The question an allocator asks. */
static bool alloc_hint_fragmenting(const struct alloc_hint *h, double window_s)
{
	return h->n_blocks >= HINT_MIN_FALLBACK_BLOCKS ||
	       (double)h->long_pages / window_s >= HINT_MIN_LONG_PAGES_PER_S;
}

static void alloc_hint_reset(struct alloc_hint *h)
{
	h->pages = h->long_pages = h->fallbacks = 0;
	h->n_blocks = 0;
}

/* ---- the command around it ---- */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "socket", required_argument, NULL, 's' },
		{ "watch", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *sock = getenv("FRAGML_FEED_SOCK");
	struct fragml_err err = { 0 };
	struct alloc_hint h;
	double window = 2;
	bool watch = false, frag = false;
	long pid = 0;
	int c;

	while ((c = getopt_long(argc, argv, "p:w:s:Wh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pid = strtol(optarg, NULL, 10); break;
		case 'w': window = atof(optarg); break;
		case 's': sock = optarg; break;
		case 'W': watch = true; break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: alloc-hint --pid PID [--window S] [--socket PATH] [--watch]\n"
				"Is this process's memory being fragmented now?  Exit 0: yes, 1: no.\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (pid <= 0 || window <= 0) {
		fprintf(stderr, "alloc-hint: --pid PID (> 0) is required, --window must be > 0\n");
		return 2;
	}
	if (alloc_hint_open(&h, (uint32_t)pid, sock, &err)) {
		fprintf(stderr, "alloc-hint: %s\n", fragml_err_msg(&err));
		return 2;
	}
	do {
		if (alloc_hint_poll(&h, (int)(window * 1000), &err)) {
			fprintf(stderr, "alloc-hint: %s\n", fragml_err_msg(&err));
			fragml_feed_close(h.feed);
			return 2;
		}
		frag = alloc_hint_fragmenting(&h, window);
		printf("pid=%ld comm=%.16s fragmenting=%s window=%.1fs unmovable_pages=%llu long_lived_pages=%llu fallbacks=%llu pageblocks_mixed=%u model=v%u\n",
		       pid, h.comm[0] ? h.comm : "?", frag ? "yes" : "no", window,
		       (unsigned long long)h.pages, (unsigned long long)h.long_pages,
		       (unsigned long long)h.fallbacks, h.n_blocks,
		       h.model_version ? h.model_version : fragml_feed_model_version(h.feed));
		fflush(stdout);
		alloc_hint_reset(&h);
	} while (watch);
	fragml_feed_close(h.feed);
	return frag ? 0 : 1;
}
