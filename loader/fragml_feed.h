/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, identification feed: who is fragmenting memory, one record per
 * lifetime decision, for any number of programs at once (diagnosis tools,
 * allocators, schedulers) without linking the trainer.
 *
 * One publisher (`fragml feed serve`, fragml_feed_server_*() below) loads
 * bpf/fragml_feed.bpf.c next to the running models, reads its ring buffer and
 * fans fixed-size records out over a UNIX SOCK_SEQPACKET socket
 * (FRAGML_FEED_SOCK, default /run/fragml/feed.sock).  Every subscriber gets
 * every record published after it connected; a subscriber that does not keep
 * up loses records (counted in the next record it gets), it never slows the
 * publisher or the other subscribers.  The byte layout of a record is
 * documented in docs/feed.md and fixed for a given FRAGML_FEED_VERSION.
 *
 * Memory: handles are owned by the caller and freed by *_close().  Records
 * are copied into caller storage.
 * Thread safety: one handle per thread; handles are independent.
 * Errors: fragml_error.h (negative errno + one line in struct fragml_err);
 * nothing here prints or exits.
 */
#ifndef FRAGML_FEED_H
#define FRAGML_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragml_alloc_flags.h"
#include "fragml_error.h"
#include "fragml_features.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAGML_FEED_DEFAULT_SOCK	"/run/fragml/feed.sock"
#define FRAGML_FEED_MAGIC		0x64656566u	/* "feed" in memory order */
#define FRAGML_FEED_VERSION		1
#define FRAGML_FEED_RECORD_SIZE		128

/* kind */
enum fragml_feed_kind {
	FRAGML_FEED_ALLOC	= 1,	/* an identified allocation (lifetime decision) */
	FRAGML_FEED_HELLO	= 2,	/* first record on every connection */
	FRAGML_FEED_HEARTBEAT	= 3,	/* once a second while nothing else is sent */
};

/* flags: the allocation flags of model/fragml_alloc_flags.h */
#define FRAGML_FEED_F_EXTFRAG	FRAGML_ALLOC_F_EXTFRAG	/* fell back into a pageblock of another
							 * migratetype: it is now mixed (polluted) */
#define FRAGML_FEED_F_CLAIM	FRAGML_ALLOC_F_CLAIM	/* ... and claimed the whole pageblock */
#define FRAGML_FEED_F_KTHREAD	FRAGML_ALLOC_F_KTHREAD	/* allocated by a kernel thread (tgid 0) */

/* Lifetime actions (model/defaults/lifetime.md) */
#define FRAGML_FEED_SHORT_LIVED	FRAGML_LIFETIME_SHORT
#define FRAGML_FEED_LONG_LIVED	FRAGML_LIFETIME_LONG

/* One record: 128 bytes, little-endian, no implicit padding (docs/feed.md). */
struct fragml_feed_record {
	uint32_t magic;		/*   0 FRAGML_FEED_MAGIC */
	uint16_t version;	/*   4 FRAGML_FEED_VERSION */
	uint16_t size;		/*   6 FRAGML_FEED_RECORD_SIZE */
	uint8_t kind;		/*   8 enum fragml_feed_kind */
	uint8_t hook;		/*   9 enum fragml_hook (0: lifetime) */
	uint8_t cls;		/*  10 enum fragml_alloc_class */
	uint8_t action;		/*  11 model action (1: predicted long-lived); 0 if no model */
	uint8_t flags;		/*  12 FRAGML_FEED_F_* */
	uint8_t order;		/*  13 allocation order */
	int8_t mt;		/*  14 migratetype requested (0 unmovable, 2 reclaimable) */
	int8_t block_mt;	/*  15 migratetype of the pageblock the page came from */
	uint64_t seq;		/*  16 publisher sequence number (1, 2, ...; gaps = lost) */
	uint64_t ts_ns;		/*  24 CLOCK_MONOTONIC of the allocation */
	uint64_t pfn;		/*  32 page frame number */
	uint64_t pageblock;	/*  40 pfn >> 9 (2 MB pageblock on x86-64) */
	uint64_t cgroup;	/*  48 cgroup v2 id of the allocating task */
	uint32_t tgid;		/*  56 process id (0: kernel thread) */
	uint32_t model_version;	/*  60 lifetime model version that decided; 0: none loaded */
	int64_t score;		/*  64 model score, fixed point Q.16 */
	uint32_t weight;	/*  72 allocations this record stands for (sampling) */
	uint32_t dropped;	/*  76 records this subscriber missed so far (cumulative) */
	char comm[16];		/*  80 task name, NUL-padded */
	char slab[32];		/*  96 slab cache name (class slab; may be empty) */
};				/* 128 */

_Static_assert(sizeof(struct fragml_feed_record) == FRAGML_FEED_RECORD_SIZE,
	       "feed record layout");

/* ---- consumer ---- */

struct fragml_feed;

/*
 * Connect to the publisher at `path` (NULL: FRAGML_FEED_DEFAULT_SOCK) and
 * read its HELLO record (up to 2 s).  On success every record published from
 * now on is queued for this subscriber.
 */
int fragml_feed_connect(struct fragml_feed **f, const char *path, struct fragml_err *err);

/*
 * Next record (any kind), waiting up to timeout_ms (-1: forever, 0: poll).
 * Returns 1 with *rec filled, 0 on timeout, -EPIPE when the publisher went
 * away, -EPROTO for a record of another layout version.
 */
int fragml_feed_next(struct fragml_feed *f, struct fragml_feed_record *rec, int timeout_ms,
		     struct fragml_err *err);

/* The socket, for poll()/epoll in the caller's loop (readable: a record waits).
 * Nothing in this tree calls it (the examples wait in fragml_feed_next()): it
 * is for consumers with an event loop of their own (docs/feed.md). */
int fragml_feed_fd(const struct fragml_feed *f);

/* Lifetime model version in force at the last HELLO/HEARTBEAT/ALLOC (0: none). */
uint32_t fragml_feed_model_version(const struct fragml_feed *f);

void fragml_feed_close(struct fragml_feed *f);

/* Check magic, version and size of a record received by other means.  0 or -EPROTO. */
int fragml_feed_check(const struct fragml_feed_record *rec, size_t len, struct fragml_err *err);

/* The source of a record as people name it: "slab:<cache>" for slab pages
 * with a known cache, "kthread:<comm>" for kernel threads, else "<comm>:<tgid>".
 * Returns the length written (truncated to cap - 1). */
int fragml_feed_source(const struct fragml_feed_record *rec, char *buf, size_t cap);

/* "anon", "slab", "pipe", ...; "?" if unknown.  Never NULL. */
const char *fragml_feed_class_name(unsigned int cls);

/* ---- publisher ---- */

struct fragml_feed_server;

struct fragml_feed_server_opts {
	const char *bpffs;		/* bpffs mount point; NULL: /sys/fs/bpf */
	const char *sock_path;		/* NULL: FRAGML_FEED_DEFAULT_SOCK */
	unsigned int sock_mode;		/* permission bits of the socket; 0: 0600 (root only) */
	unsigned int sample_shift;	/* report 1 in 2^n non-fallback allocations (fallbacks: all) */
	unsigned int max_clients;	/* 0: 64 */
	unsigned int ringbuf_kb;	/* 0: 4096 */
};

struct fragml_feed_server_stats {
	uint64_t published;		/* ALLOC records read from the kernel and fanned out */
	uint64_t kernel_lost;		/* records the kernel side could not queue (ring full) */
	uint64_t dropped;		/* record copies not delivered to slow subscribers */
	uint64_t clients_total;		/* connections accepted */
	unsigned int clients;		/* connected now */
};

/*
 * Load and attach the feed programs next to the models pinned under
 * <bpffs>/fragml (-ENOENT if fragml-load has not run) and listen on the
 * socket (-EADDRINUSE if another publisher serves it).
 */
int fragml_feed_server_open(struct fragml_feed_server **s, const struct fragml_feed_server_opts *o,
			    struct fragml_err *err);
/* Serve until fragml_feed_server_stop() or `duration_s` (0: no limit) elapsed. */
int fragml_feed_server_run(struct fragml_feed_server *s, double duration_s,
			   struct fragml_feed_server_stats *st, struct fragml_err *err);
/* Async-signal-safe. */
void fragml_feed_server_stop(struct fragml_feed_server *s);
/* Detach the programs, close every subscriber, remove the socket. */
void fragml_feed_server_close(struct fragml_feed_server *s);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_FEED_H */
