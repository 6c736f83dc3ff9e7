// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection overhead: slowdown of an allocation-heavy and a fault-heavy
 * microbenchmark with the identification programs attached vs detached,
 * measured as a ratio in one run (rounds interleave detached / attached so
 * drift hits both sides), in CPU time of the benchmarking thread.  Modes:
 *   observe   the always-on observe programs (sampled tracking, 1 in 16), with
 *             private pins so a live install is untouched; no model loaded,
 *             so this is the identification cost without the tree walk; once
 *             with source identification (fragml-load --identify: the slab
 *             program and the source maps) and once without (its default);
 *             and without it but with the site walk on, which the loader
 *             turns on for a lifetime model splitting on site_long_ppk (the
 *             shipped one)
 *   collect   fragml-collect's full trace (every unmovable allocation tracked,
 *             every fault recorded) with its ring buffer drained by a thread
 * Output: a markdown table on stdout (docs/performance.md, "Collection overhead").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "libbpf_log.h"
#include "../host/testlib.h"

#define ROUNDS 15
#define MAX_ROUNDS 99

static int rounds = ROUNDS;

/*
 * CPU time of this thread, not wall time: the attached programs run in the
 * context of the thread that faults or allocates, so their cost is counted,
 * while the time this thread waits for a CPU that other jobs hold (2 shared
 * vCPUs, kernel builds running beside) is not.  Wall time gave +-8 % between
 * two detached runs; CPU time about +-2 %.
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

struct mode {
	const char *name;
	int noident;	/* observe as `fragml-load` leaves it without --identify */
	int sites;	/* the site walk on, as for a lifetime model that splits on site_long_ppk */
	struct fragml_observe *obs;
	struct fragml_collector *col;
	pthread_t thr;
	char pins[256];
};

static int stats_on, stats_old;

/* kernel.bpf_stats_enabled: returns the previous value */
static int bpf_stats_set(int on)
{
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDWR), old = 0;
	char c = 0;

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) == 1)
		old = c == '1';
	if (pwrite(fd, on ? "1" : "0", 1, 0) != 1)
		old = -1;
	close(fd);
	return old;
}

static void *drain(void *arg)
{
	struct fragml_collect_stats st;

	fragml_collect_run(arg, &st, NULL);
	return NULL;
}

static int attach(struct mode *m, const char *outdir)
{
	struct fragml_err err = {};

	if (strncmp(m->name, "collect", 7)) {
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = m->pins);
		struct bpf_map *map;

		if (!m->pins[0] && tl_private_bpffs(m->pins, sizeof(m->pins)))
			return -1;
		m->obs = fragml_observe__open_opts(&oo);
		if (!m->obs)
			return -1;
		if (m->noident) {
			/* what loader/load.c creates without --identify */
			m->obs->rodata->want_ident = 0;
			bpf_map__set_autocreate(m->obs->maps.fragml_src, false);
			bpf_map__set_autocreate(m->obs->maps.fragml_src_slab, false);
			bpf_map__set_autocreate(m->obs->maps.fragml_blocks, false);
			bpf_map__set_autocreate(m->obs->maps.fragml_pending_slab, false);
			bpf_program__set_autoload(m->obs->progs.fragml_observe_slab, false);
		}
		if (fragml_observe__load(m->obs) || fragml_observe__attach(m->obs))
			return -1;
		map = m->obs->maps.fragml_sites;
		fragml_sites_fill(bpf_map__fd(map), NULL);
		if (m->sites) {
			__u32 zero = 0, on = 1;

			/* what loader/load.c sets when the published model reads sites */
			if (bpf_map_update_elem(bpf_map__fd(m->obs->maps.fragml_site_want), &zero, &on, 0))
				return -1;
		}
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

/* Per-program cost while attached (kernel.bpf_stats_enabled=1): ns per run of
 * each round (its median is robust against a round disturbed by other load) and
 * ns and runs summed over the rounds, printed after the table. */
#define MAX_PROGS 16
#define NMODES 4
static struct {
	char name[64];
	unsigned long long ns, cnt;
	int n;
	double per_round[MAX_ROUNDS];
} pstats[2 * NMODES][MAX_PROGS];
static int n_pstats[2 * NMODES];

/* b: benchmark * NMODES + mode */
static void prog_stats_take(struct mode *m, int b)
{
	struct bpf_program *p;

	if (!m->obs)
		return;
	bpf_object__for_each_program(p, m->obs->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int i;

		if (bpf_prog_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		for (i = 0; i < n_pstats[b] && strcmp(pstats[b][i].name, bpf_program__name(p)); i++)
			;
		if (i == n_pstats[b]) {
			if (i == MAX_PROGS)
				continue;
			snprintf(pstats[b][i].name, sizeof(pstats[b][i].name), "%s", bpf_program__name(p));
			n_pstats[b]++;
		}
		pstats[b][i].ns += info.run_time_ns;
		pstats[b][i].cnt += info.run_cnt;
		if (info.run_cnt && pstats[b][i].n < MAX_ROUNDS)
			pstats[b][i].per_round[pstats[b][i].n++] = (double)info.run_time_ns / info.run_cnt;
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_collect [--rounds N] [--only alloc|fault] [--observe-only] [--progstats]\n"
		"Slowdown of an allocation-heavy and a fault-heavy loop with the observe programs\n"
		"(and fragml-collect's trace) attached vs detached, interleaved rounds, CPU time of\n"
		"the benchmarking thread; a markdown table on stdout.\n"
		"  --rounds N        rounds per loop and mode (default %d, at most %d)\n"
		"  --only LOOP       run only the alloc-heavy or the fault-heavy loop\n"
		"  --observe-only    skip the collect mode (also FRAGML_BENCH_OBSERVE_ONLY=1)\n"
		"  --progstats       add the observe programs' ns per run from kernel.bpf_stats_enabled\n"
		"                    (also FRAGML_BENCH_PROGSTATS=1; the stats add ~30 ns per run)\n",
		ROUNDS, MAX_ROUNDS);
}

int main(int argc, char **argv)
{
	struct mode modes[NMODES] = {
		{ .name = "observe" },
		{ .name = "observe, no --identify", .noident = 1 },
		{ .name = "observe, no --identify, site walk", .noident = 1, .sites = 1 },
		{ .name = "collect" },
	};
	static const char *const bname[2] = { "alloc-heavy (pipe + socket buffers)",
					      "fault-heavy (4 KB anonymous faults)" };
	static const struct option lopts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' },
		{ "observe-only", no_argument, NULL, 'O' },
		{ "progstats", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	double (*bench[2])(void) = { bench_alloc, bench_fault };
	char out[] = "/tmp/fragml-bench-collect.XXXXXX";
	int observe_only = getenv("FRAGML_BENCH_OBSERVE_ONLY") != NULL, only = -1, c;

	stats_on = getenv("FRAGML_BENCH_PROGSTATS") != NULL;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'r':
			rounds = strtol(optarg, &end, 10);
			if (*end || rounds < 1 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "bench_collect: --rounds: %s: not in 1..%d\n", optarg, MAX_ROUNDS);
				return 2;
			}
			break;
		case 'o':
			only = !strcmp(optarg, "alloc") ? 0 : !strcmp(optarg, "fault") ? 1 : -2;
			if (only == -2) {
				fprintf(stderr, "bench_collect: --only: %s: not alloc or fault\n", optarg);
				return 2;
			}
			break;
		case 'O':
			observe_only = 1;
			break;
		case 'p':
			stats_on = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bench_collect: %s: unexpected argument\n", argv[optind]);
		return 2;
	}
	if (geteuid()) {
		fprintf(stderr, "bench_collect: needs root (BPF tracing programs)\n");
		return 1;
	}
	if (!mkdtemp(out))
		return 1;
	libbpf_set_print(loader_libbpf_print);
	if (stats_on)
		stats_old = bpf_stats_set(1);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	printf("| benchmark | mode | detached CPU ms (min / median of %d) | attached CPU ms (min / median) | slowdown (min) | slowdown (median) |\n", rounds);
	printf("|---|---|---|---|---|---|\n");
	for (int b = 0; b < 2; b++) {
		if (only >= 0 && b != only)
			continue;
		for (int mi = 0; mi < NMODES; mi++) {
			double off[MAX_ROUNDS], on[MAX_ROUNDS];

			if (!strcmp(modes[mi].name, "collect") && observe_only)
				continue;
			bench[b]();	/* warm up */
			for (int r = 0; r < rounds; r++) {
				off[r] = bench[b]();
				if (attach(&modes[mi], out)) {
					fprintf(stderr, "bench_collect: cannot attach %s\n", modes[mi].name);
					return 1;
				}
				on[r] = bench[b]();
				prog_stats_take(&modes[mi], b * NMODES + mi);
				detach(&modes[mi]);
			}
			qsort(off, rounds, sizeof(double), cmp_d);
			qsort(on, rounds, sizeof(double), cmp_d);
			/* min: least disturbed by other load on the machine; median beside it */
			printf("| %s | %s | %.1f / %.1f | %.1f / %.1f | %+.1f %% | %+.1f %% |\n",
			       bname[b], modes[mi].name, off[0] * 1e3, off[rounds / 2] * 1e3,
			       on[0] * 1e3, on[rounds / 2] * 1e3, (on[0] / off[0] - 1) * 100,
			       (on[rounds / 2] / off[rounds / 2] - 1) * 100);
			fflush(stdout);
		}
	}
	if (stats_on) {
		printf("\nobserve programs while attached (bpf_stats: ns per run, runs per round):\n\n");
		printf("| benchmark | mode | program | ns/run (median of rounds) | ns/run (all runs) | runs/round |\n"
		       "|---|---|---|---|---|---|\n");
		for (int k = 0; k < 2 * NMODES; k++)
			for (int i = 0; i < n_pstats[k]; i++) {
				if (!pstats[k][i].cnt)
					continue;
				qsort(pstats[k][i].per_round, pstats[k][i].n, sizeof(double), cmp_d);
				printf("| %s | %s | %s | %.1f | %.1f | %llu |\n", bname[k / NMODES],
				       modes[k % NMODES].name, pstats[k][i].name,
				       pstats[k][i].per_round[pstats[k][i].n / 2],
				       (double)pstats[k][i].ns / pstats[k][i].cnt, pstats[k][i].cnt / rounds);
			}
		bpf_stats_set(stats_old);
	}
	for (int mi = 0; mi < NMODES; mi++)
		if (modes[mi].pins[0])
			tl_release_bpffs(modes[mi].pins);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
		if (system(cmd))
			return 0;
	}
	return 0;
}
