// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection overhead: slowdown of an allocation-heavy and a fault-heavy
 * microbenchmark with the identification programs attached vs detached,
 * measured as a ratio in one run (rounds interleave detached / attached so
 * drift hits both sides).  Modes:
 *   observe   the always-on observe programs (sampled tracking, 1 in 16), with
 *             private pins so a live install is untouched; no model loaded,
 *             so this is the identification cost without the tree walk
 *   collect   fragml-collect's full trace (every unmovable allocation tracked,
 *             every fault recorded) with its ring buffer drained by a thread
 * Output: a markdown table on stdout (docs/performance.md, "Collection overhead").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_collect.h"
#include "fragml_identify.h"
#include "fragml_observe.skel.h"
#include "../host/testlib.h"

#define ROUNDS 9

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Allocation-heavy: each iteration makes the kernel allocate and free pages:
 * a pipe page (unmovable: the tracked path) and a 16 KB socket buffer. */
static double bench_alloc(void)
{
	static char buf[16384];
	int p[2], s[2];
	double t0;

	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return -1;
	t0 = now_s();
	for (int i = 0; i < 40000; i++) {
		if (write(p[1], buf, 4096) != 4096 || read(p[0], buf, 4096) != 4096)
			break;
		if (write(s[0], buf, sizeof(buf)) < 0 || read(s[1], buf, sizeof(buf)) < 0)
			break;
	}
	t0 = now_s() - t0;
	close(p[0]); close(p[1]); close(s[0]); close(s[1]);
	return t0;
}

/* Fault-heavy: 4 KB anonymous faults (THP off for this process), then unmap. */
static double bench_fault(void)
{
	size_t len = 64 << 20;
	double t0 = now_s();

	for (int r = 0; r < 4; r++) {
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return -1;
		for (size_t off = 0; off < len; off += 4096)
			m[off] = 1;
		munmap(m, len);
	}
	return now_s() - t0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l; (void)f; (void)ap;
	return 0;
}

struct mode {
	const char *name;
	struct fragml_observe *obs;
	struct fragml_collector *col;
	pthread_t thr;
	char pins[256];
};

static void *drain(void *arg)
{
	struct fragml_collect_stats st;

	fragml_collect_run(arg, &st, NULL);
	return NULL;
}

static int attach(struct mode *m, const char *outdir)
{
	struct fragml_err err = {};

	if (!strcmp(m->name, "observe")) {
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = m->pins);
		struct bpf_map *map;

		if (!m->pins[0] && tl_private_bpffs(m->pins, sizeof(m->pins)))
			return -1;
		m->obs = fragml_observe__open_opts(&oo);
		if (!m->obs || fragml_observe__load(m->obs) || fragml_observe__attach(m->obs))
			return -1;
		map = m->obs->maps.fragml_sites;
		fragml_sites_fill(bpf_map__fd(map), NULL);
		return 0;
	} else {
		struct fragml_collect_opts o;

		fragml_collect_opts_default(&o);
		o.outdir = outdir;
		o.workload = "bench";
		if (fragml_collect_open(&m->col, &o, &err)) {
			fprintf(stderr, "bench_collect: %s\n", fragml_err_msg(&err));
			return -1;
		}
		return pthread_create(&m->thr, NULL, drain, m->col);
	}
}

static void detach(struct mode *m)
{
	if (m->obs) {
		fragml_observe__destroy(m->obs);
		m->obs = NULL;
	}
	if (m->col) {
		fragml_collect_stop(m->col);
		pthread_join(m->thr, NULL);
		fragml_collect_close(m->col);
		m->col = NULL;
	}
}

int main(void)
{
	struct mode modes[2] = { { .name = "observe" }, { .name = "collect" } };
	static const char *const bname[2] = { "alloc-heavy (pipe + socket buffers)",
					      "fault-heavy (4 KB anonymous faults)" };
	double (*bench[2])(void) = { bench_alloc, bench_fault };
	char out[] = "/tmp/fragml-bench-collect.XXXXXX";

	if (geteuid()) {
		fprintf(stderr, "bench_collect: needs root (BPF tracing programs)\n");
		return 1;
	}
	if (!mkdtemp(out))
		return 1;
	libbpf_set_print(quiet);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	printf("| benchmark | mode | detached ms (min / median of %d) | attached ms (min / median) | slowdown (min) | slowdown (median) |\n", ROUNDS);
	printf("|---|---|---|---|---|---|\n");
	for (int b = 0; b < 2; b++) {
		for (int mi = 0; mi < 2; mi++) {
			double off[ROUNDS], on[ROUNDS];

			bench[b]();	/* warm up */
			for (int r = 0; r < ROUNDS; r++) {
				off[r] = bench[b]();
				if (attach(&modes[mi], out)) {
					fprintf(stderr, "bench_collect: cannot attach %s\n", modes[mi].name);
					return 1;
				}
				on[r] = bench[b]();
				detach(&modes[mi]);
			}
			qsort(off, ROUNDS, sizeof(double), cmp_d);
			qsort(on, ROUNDS, sizeof(double), cmp_d);
			/* min: least disturbed by other load on the machine; median beside it */
			printf("| %s | %s | %.1f / %.1f | %.1f / %.1f | %+.1f %% | %+.1f %% |\n",
			       bname[b], modes[mi].name, off[0] * 1e3, off[ROUNDS / 2] * 1e3,
			       on[0] * 1e3, on[ROUNDS / 2] * 1e3, (on[0] / off[0] - 1) * 100,
			       (on[ROUNDS / 2] / off[ROUNDS / 2] - 1) * 100);
			fflush(stdout);
		}
	}
	if (modes[0].pins[0])
		tl_release_bpffs(modes[0].pins);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
		if (system(cmd))
			return 0;
	}
	return 0;
}
