// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml-work: bounded, seeded workloads that fragment (or do not fragment)
 * physical memory, for fragml-collect and the selftests.  Every workload is
 * bounded in memory (--mb, capped at 2048) and time (--secs, --hold) and is
 * deterministic given --seed (the sizes, orders and which objects are kept).
 *
 *   thp-dense   MADV_HUGEPAGE region, every 4 KB page touched
 *   thp-sparse  MADV_HUGEPAGE region, 1 page in 64 touched per 2 MB
 *   malloc      malloc/free churn of mixed sizes (movable, repaired by compaction)
 *   files       many small files created, 3 of 4 deleted (dentry/inode slab churn)
 *   sockets     unix socket pairs with queued data, 1 in 8 kept (skb pages, unmovable)
 *   pipes       pipes each holding one page, 1 in 8 kept open (unmovable scatter)
 *   pagetables  child processes touching one page per 2 MB of a sparse mapping (page tables)
 *   pagecache   write and reread files, then delete them (page-cache churn)
 *   nothp       like thp-dense but with PR_SET_THP_DISABLE (4 KB pages: clean density labels)
 *   holes       4 KB anonymous pages, 1 in --stride (default 2) freed again, the rest held:
 *               free memory scattered over movable pageblocks, none of them whole
 *               (the fallback-gate workloads run on top of it); prints "ready"
 *
 * pipes and sockets keep 1 in --keep (default 8) of their buffers open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t rnd(void)	/* xorshift64*: deterministic given the seed */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct { long mb; double secs, hold; long count, keep, stride; const char *dir; } opt = {
	.mb = 256, .secs = 5, .hold = 1, .count = 20000, .keep = 8, .stride = 2, .dir = "/tmp",
};

#define HUGE (2UL << 20)

static char *map_aligned(size_t len)
{
	char *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return (char *)(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
}

static int w_thp(int dense, int advise)
{
	size_t len = (size_t)opt.mb << 20;
	char *p = map_aligned(len);

	if (advise && madvise(p, len, MADV_HUGEPAGE))
		perror("madvise(MADV_HUGEPAGE)");
	for (size_t off = 0; off < len; off += dense ? 4096 : 64 * 4096)
		p[off] = (char)off;
	usleep((useconds_t)(opt.hold * 1e6));
	return 0;
}

static int w_malloc(void)
{
	size_t n = 4096, live_cap = (size_t)opt.mb << 20, live = 0;
	void **slot = calloc(n, sizeof(void *));
	size_t *sz = calloc(n, sizeof(size_t));
	double end = now_s() + opt.secs;

	while (now_s() < end) {
		for (int k = 0; k < 1000; k++) {
			size_t i = rnd() % n, s = (size_t)16 << (rnd() % 14);	/* 16 B .. 128 KB */

			if (slot[i]) {
				free(slot[i]);
				live -= sz[i];
				slot[i] = NULL;
			} else if (live + s <= live_cap) {
				slot[i] = malloc(s);
				memset(slot[i], 1, s);
				sz[i] = s;
				live += s;
			}
		}
	}
	return 0;
}

static int w_files(void)
{
	char d[4096], p[4200];
	long n = opt.count;

	snprintf(d, sizeof(d), "%s/fragml-files.%d", opt.dir, getpid());
	mkdir(d, 0700);
	for (long i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/f%ld", d, i);
		int fd = open(p, O_CREAT | O_WRONLY, 0600);

		if (fd < 0) {
			perror(p);
			return 1;
		}
		if (write(fd, "x", 1) != 1)
			perror("write");
		close(fd);
	}
	for (long i = 0; i < n; i++)
		if (rnd() % 4) {
			snprintf(p, sizeof(p), "%s/f%ld", d, i);
			unlink(p);
		}
	usleep((useconds_t)(opt.hold * 1e6));
	for (long i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/f%ld", d, i);
		unlink(p);
	}
	rmdir(d);
	return 0;
}

static void raise_nofile(long want)
{
	struct rlimit r;

	getrlimit(RLIMIT_NOFILE, &r);
	if (r.rlim_cur < (rlim_t)want) {
		r.rlim_cur = r.rlim_max < (rlim_t)want ? r.rlim_max : (rlim_t)want;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* pipes (kind 0) or unix socket pairs (kind 1), each holding data; keep 1 in --keep */
static int w_buffers(int kind)
{
	long n = opt.count, kept = 0, cap_pages = opt.mb * 256;
	int (*fds)[2] = calloc(n, sizeof(*fds));
	struct rlimit r;
	char buf[4096];

	memset(buf, 'b', sizeof(buf));
	raise_nofile(opt.keep == 8 ? n / 4 + 64 : 2 * (n / opt.keep) + n / 16 + 64);
	getrlimit(RLIMIT_NOFILE, &r);
	for (long i = 0; i < n; i++) {
		int r2 = kind ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]) : pipe(fds[i]);

		if (r2) {
			fds[i][0] = fds[i][1] = -1;
			break;
		}
		if (write(fds[i][1], buf, kind ? 2048 + rnd() % 2048 : sizeof(buf)) < 0)
			perror("write");
		if (rnd() % opt.keep || kept >= cap_pages) {
			close(fds[i][0]);
			close(fds[i][1]);
			fds[i][0] = fds[i][1] = -1;
		} else {
			kept++;
		}
		if (opt.keep == 8 ? kept + 64 >= n / 4 + 64 : 2 * kept + 64 >= (long)r.rlim_cur)
			break;	/* stay under the fd limit */
	}
	printf("kept %ld %s holding data\n", kept, kind ? "socket pairs" : "pipes");
	fflush(stdout);
	usleep((useconds_t)(opt.hold * 1e6));
	return 0;
}

/* free memory in 4 KB holes all over movable pageblocks */
static int w_holes(void)
{
	size_t len = (size_t)opt.mb << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	for (size_t off = 0; off < len; off += (size_t)opt.stride * 4096)
		madvise(p + off, 4096, MADV_DONTNEED);
	printf("ready\n");
	fflush(stdout);
	usleep((useconds_t)(opt.hold * 1e6));
	return 0;
}

static int w_pagetables(void)
{
	int nproc = 16;
	size_t len = (size_t)opt.mb << 20;

	for (int c = 0; c < nproc; c++) {
		if (fork() == 0) {
			/* one page per 2 MB: each touch needs its own page-table page */
			char *p = map_aligned(len * 8);

			for (size_t off = (rnd() % 512) * 4096; off < len * 8; off += HUGE)
				p[off] = 1;
			usleep((useconds_t)(opt.hold * 1e6));
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	return 0;
}

static int w_pagecache(void)
{
	char p[4200], buf[65536];
	double end = now_s() + opt.secs;
	long i = 0;

	memset(buf, 'c', sizeof(buf));
	while (now_s() < end) {
		snprintf(p, sizeof(p), "%s/fragml-pc.%d.%ld", opt.dir, getpid(), i++ % 16);
		int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0600);
		long sz = (long)(1 + rnd() % (opt.mb > 16 ? 16 : opt.mb)) << 20;

		if (fd < 0)
			return 1;
		for (long o = 0; o < sz; o += sizeof(buf))
			if (write(fd, buf, sizeof(buf)) < 0)
				break;
		lseek(fd, 0, SEEK_SET);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		if (rnd() % 2)
			unlink(p);
	}
	for (long k = 0; k < 16; k++) {
		snprintf(p, sizeof(p), "%s/fragml-pc.%d.%ld", opt.dir, getpid(), k);
		unlink(p);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fragml-work [--mb N] [--secs S] [--hold S] [--count N] [--seed N] [--dir D] [--keep K] [--stride K] "
		"thp-dense|thp-sparse|nothp|malloc|files|sockets|pipes|pagetables|pagecache|holes\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mb", 1, 0, 'm' }, { "secs", 1, 0, 's' }, { "hold", 1, 0, 'H' },
		{ "count", 1, 0, 'n' }, { "seed", 1, 0, 'S' }, { "dir", 1, 0, 'd' },
		{ "keep", 1, 0, 'k' }, { "stride", 1, 0, 'x' }, { "help", 0, 0, 'h' }, {}
	};
	uint64_t seed = 1;
	int c;

	while ((c = getopt_long(argc, argv, "+m:s:H:n:S:d:k:x:h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': opt.mb = atol(optarg); break;
		case 's': opt.secs = atof(optarg); break;
		case 'H': opt.hold = atof(optarg); break;
		case 'n': opt.count = atol(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'd': opt.dir = optarg; break;
		case 'k': opt.keep = atol(optarg); break;
		case 'x': opt.stride = atol(optarg); break;
		case 'h':
			usage(stdout);
			printf("Bounded, seeded workloads that fragment physical memory, for fragml-collect\n"
			       "and the selftests (selftests/workloads/run.sh drives them).\n");
			return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (opt.mb < 1 || opt.mb > 2048 || opt.secs > 600 || opt.hold > 600 || opt.count > 1000000 ||
	    opt.keep < 1 || opt.keep > 1000000 || opt.stride < 2 || opt.stride > 512) {
		fprintf(stderr, "fragml-work: bounds: --mb 1..2048, --secs/--hold <= 600, --count <= 1000000, --keep 1..1000000, --stride 2..512\n");
		return 2;
	}
	rng_state = seed * 0x9E3779B97F4A7C15ULL | 1;
	const char *w = argv[optind];

	if (!strcmp(w, "thp-dense"))
		return w_thp(1, 1);
	if (!strcmp(w, "thp-sparse"))
		return w_thp(0, 1);
	if (!strcmp(w, "nothp")) {
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		return w_thp(1, 0);
	}
	if (!strcmp(w, "malloc"))
		return w_malloc();
	if (!strcmp(w, "files"))
		return w_files();
	if (!strcmp(w, "sockets"))
		return w_buffers(1);
	if (!strcmp(w, "pipes"))
		return w_buffers(0);
	if (!strcmp(w, "pagetables"))
		return w_pagetables();
	if (!strcmp(w, "pagecache"))
		return w_pagecache();
	if (!strcmp(w, "holes"))
		return w_holes();
	fprintf(stderr, "fragml-work: unknown workload '%s'\n", w);
	return 2;
}
