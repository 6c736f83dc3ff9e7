// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stress_swap: `make stress`, inside the patched kernel.  N model swaps
 * (default 10 000, FRAGML_STRESS_SWAPS) of the thp_fault hook while
 * children fault huge-page regions without pause.  Two constant models
 * alternate: A answers "kernel default", B "huge page without compaction",
 * so every decision names its model twice, in fragml's per-version counter
 * row and in the kernel's own count of what it was told to do.
 *
 *   torn decisions  counts of a version under the other model's action
 *   lost counts     decisions the kernel enforced (thp_fault_policy_default +
 *                   no_compact + compact + declined) minus those fragml counted
 *   wrong enforced  kernel "default" != A's count, kernel "no_compact" != B's
 *   growth          BPF maps in the system, fragml's kernel memory (memlock
 *                   of every map and program, fdinfo), Percpu and Slab of
 *                   /proc/meminfo: before the swaps and after them
 *
 * Counter rows are reused every 16 versions (the publish zeroes the row of
 * version V - 16 before V goes live), so the row of each version is read
 * just before it is recycled: every decision is counted exactly once.
 * Only the policy is attached (no observe programs, which count the same
 * hook from a tracepoint).  Output: KTAP, figures as "# " lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_load.h"
#include "fragml_policy.h"
#include "vmlib.h"

#define NFAULTERS	2

static long kernel_decisions(long *def, long *nocomp)
{
	long d = vmstat("thp_fault_policy_default"), n = vmstat("thp_fault_policy_no_compact");
	long c = vmstat("thp_fault_policy_compact"), x = vmstat("thp_fault_declined");

	*def = d;
	*nocomp = n;
	return d + n + c + x;
}

static unsigned int nr_maps(void)
{
	__u32 id = 0;
	unsigned int n = 0;

	while (!bpf_map_get_next_id(id, &id))
		n++;
	return n;
}

static long meminfo_kb(const char *key)
{
	char line[160];
	long v = -1;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

struct usage { unsigned int maps; unsigned long long kmem; long percpu_kb, slab_kb; };

static int usage_read(struct fragml_handle *h, struct usage *u)
{
	struct fragml_err err = {};
	struct fragml_kmem km;

	if (fragml_kmem_read(h, &km, &err))
		return -1;
	u->kmem = km.map_bytes + km.prog_bytes;
	fragml_kmem_free(&km);
	u->maps = nr_maps();
	u->percpu_kb = meminfo_kb("Percpu");
	u->slab_kb = meminfo_kb("Slab");
	return 0;
}

/* Counts of one counter row, per action, summed over CPUs. */
static int row_read(int fd, unsigned int row, unsigned long long out[FRAGML_MAX_ACTIONS])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu > 0 ? ncpu : 1];

	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++) {
		__u32 key = FRAGML_COUNTER_INDEX(FRAGML_HOOK_THP_FAULT, row, a);

		out[a] = 0;
		if (bpf_map_lookup_elem(fd, &key, vals))
			return -1;
		for (int c = 0; c < ncpu; c++)
			out[a] += vals[c];
	}
	return 0;
}

struct tally {
	unsigned long long counted, torn, per_model[2];
};

/* Account the row of version v (model v's parity: see publish order). */
static int account(int fd, uint32_t v, uint32_t first, struct tally *t)
{
	unsigned long long c[FRAGML_MAX_ACTIONS];
	int model = (v - first) & 1;	/* 0: A, 1: B */
	unsigned int want = model ? FRAGML_THP_NO_COMPACT : FRAGML_THP_DEFAULT;

	if (row_read(fd, v % FRAGML_COUNTER_ROWS, c))
		return -1;
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++) {
		t->counted += c[a];
		if (a == want)
			t->per_model[model] += c[a];
		else
			t->torn += c[a];
	}
	return 0;
}

int main(void)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	long swaps = strtol(env_or("FRAGML_STRESS_SWAPS", "10000"), NULL, 10);
	/* a time budget: on a loaded host stop early and say how far it got */
	double budget = strtod(env_or("FRAGML_STRESS_BUDGET", "0"), NULL);
	struct fragml_open_opts oo = { .install = true, .no_observe = true };
	struct fragml_model *m[2] = { malloc(sizeof(**m)), malloc(sizeof(**m)) };
	struct fragml_err err = {};
	struct fragml_open_info oi;
	struct fragml_handle *h = NULL;
	struct usage u0, u1, u2;
	struct tally t = {};
	long k0, k1, d0, d1, n0, n1;
	pid_t kids[NFAULTERS];
	uint32_t first, v = 0;
	struct timespec a, b;
	double secs = 0;
	bool mid = false;
	int cfd, fails = 0;

	printf("TAP version 13\n1..4\n");
	if (fragml_policy_supported(&err) != 1) {
		printf("ok 1 stress # SKIP kernel has no %s: boot the patched kernel\n", FRAGML_POLICY_KTYPE);
		return 0;
	}
	reset_fragml();
	if (sh("%s/fragml-mkmodel --hook thp_fault --const default -o /tmp/sA.bin >/dev/null && "
	       "%s/fragml-mkmodel --hook thp_fault --const no_compact -o /tmp/sB.bin >/dev/null", bin, bin) ||
	    !m[0] || !m[1] || fragml_model_read_file(m[0], "/tmp/sA.bin", &err) ||
	    fragml_model_read_file(m[1], "/tmp/sB.bin", &err) || fragml_open(&h, &oo, &oi, &err) ||
	    fragml_publish(h, m[0], &first, &err)) {
		printf("not ok 1 stress setup: %s\n", fragml_err_msg(&err));
		return 1;
	}
	cfd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_counters");
	if (!oi.enforce || cfd < 0) {
		printf("not ok 1 stress setup: policy attached %d, counters %d\n", oi.enforce, cfd);
		return 1;
	}
	/* everything the first version counted until now is the offset */
	{
		struct tally off = {};

		account(cfd, first, first, &off);
		k0 = kernel_decisions(&d0, &n0) ;
		d0 -= (long)off.per_model[0];
		k0 -= (long)off.counted;
	}
	usage_read(h, &u0);
	u1 = u0;
	for (int i = 0; i < NFAULTERS; i++)
		kids[i] = thp_faulter(16);	/* 32 MiB per round */
	clock_gettime(CLOCK_MONOTONIC, &a);
	v = first;
	for (long i = 1; i <= swaps; i++) {
		uint32_t want = v + 1, got;

		/* the row `want` reuses holds version want - 16: count it first */
		if (want >= first + FRAGML_COUNTER_ROWS && account(cfd, want - FRAGML_COUNTER_ROWS, first, &t)) {
			printf("not ok 1 counters read failed at swap %ld\n", i);
			return 1;
		}
		if (fragml_publish(h, m[(want - first) & 1], &got, &err) || got != want) {
			printf("not ok 1 publish %ld: %s (version %u, expected %u)\n", i, fragml_err_msg(&err),
			       got, want);
			return 1;
		}
		v = got;
		if (!mid && (i == swaps / 2 || (budget > 0 && secs > budget / 2))) {
			usage_read(h, &u1);
			mid = true;
		}
		if (i % 100 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &b);
			secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
			if (i % 1000 == 0) {
				printf("# %ld swaps, %.0f s\n", i, secs);
				fflush(stdout);
			}
			if (budget > 0 && secs > budget && i < swaps) {
				printf("# time budget of %.0f s spent after %ld of %ld swaps: stopping there\n",
				       budget, i, swaps);
				swaps = i;
				break;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (int i = 0; i < NFAULTERS; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	k1 = kernel_decisions(&d1, &n1);
	for (uint32_t w = v >= first + FRAGML_COUNTER_ROWS - 1 ? v - FRAGML_COUNTER_ROWS + 1 : first; w <= v; w++)
		account(cfd, w, first, &t);
	secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	sleep(2);	/* freed maps go after an RCU grace period */
	usage_read(h, &u2);

	printf("# %ld swaps in %.1f s (%.0f/s) under %d faulters; %llu decisions counted, kernel enforced %ld\n",
	       swaps, secs, swaps / secs, NFAULTERS, t.counted, k1 - k0);
	printf("# per model: A (default) %llu counted, kernel default %ld; B (no_compact) %llu counted, kernel no_compact %ld\n",
	       t.per_model[0], d1 - d0, t.per_model[1], n1 - n0);
	printf("# BPF maps in the system: %u before, %u at half, %u after\n", u0.maps, u1.maps, u2.maps);
	printf("# fragml kernel memory (memlock): %llu before, %llu at half, %llu after bytes\n", u0.kmem,
	       u1.kmem, u2.kmem);
	printf("# meminfo Percpu %ld -> %ld -> %ld kB, Slab %ld -> %ld -> %ld kB\n", u0.percpu_kb,
	       u1.percpu_kb, u2.percpu_kb, u0.slab_kb, u1.slab_kb, u2.slab_kb);

#define CHECK(n, cond, what) do { bool ok_ = (cond); fails += !ok_; \
	printf("%sok %d %s\n", ok_ ? "" : "not ", n, what); } while (0)
	CHECK(1, t.torn == 0, "no torn decision: every count is its version's action");
	CHECK(2, t.counted == (unsigned long long)(k1 - k0) && t.counted > 0,
	      "no lost count: fragml's counters equal the decisions the kernel enforced");
	CHECK(3, t.per_model[0] == (unsigned long long)(d1 - d0) &&
		 t.per_model[1] == (unsigned long long)(n1 - n0),
	      "the kernel enforced each version's own answer");
	/* the first swap adds the rollback target (<hook>_prev, one model map):
	 * from then on, half way to the end, nothing may grow */
	CHECK(4, u1.maps <= u0.maps + 1 && u2.maps <= u1.maps && u2.kmem <= u1.kmem,
	      "no growth of BPF maps or fragml's kernel memory after the first swap");
	reset_fragml();
	return fails ? 1 : 0;
}
