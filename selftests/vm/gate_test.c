// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VM selftests of the allocator's fallback gate (kernel-patches/0004, the
 * "fallback" hook) and of the placement of fallback allocations
 * (kernel-patches/0005, the "placement" hook): run as root inside the
 * patched kernel (make vmtest).
 *
 * The workload: an anonymous region fills most free memory with 4 KiB
 * movable pages, every other page is dropped again (free memory is then
 * scattered over movable pageblocks, none of them free as a whole), and
 * pipes each holding one page ask for unmovable pages on top.  Without a
 * gate those pages are stolen from the movable blocks one by one, leaving
 * them mixed; a gate that defers lets compaction free whole blocks first.
 * Fallbacks are counted by alloc_events.bpf.c on the kernel's tracepoints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "fragml_abi.h"
#include "fragml_load.h"
#include "fragml_policy.h"
#include "alloc_events.h"
#include "vmlib.h"

#define PAGE_SZ		4096UL

/* The kernel's gate counters (kernel-patches/0004). */
enum { G_FALLBACK, G_DEFER, G_REFUSED, G_SATISFIED, G_FELLBACK, G_RECLAIMED,
       G_COMPACTED, G_SLOWPATH, NR_G };
static const char *const gname[NR_G] = {
	"fallback_gate_fallback", "fallback_gate_defer", "fallback_gate_defer_refused",
	"fallback_gate_defer_satisfied", "fallback_gate_defer_fellback",
	"fallback_gate_defer_reclaimed", "fallback_gate_defer_compacted",
	"fallback_gate_slowpath",
};

/* The kernel's placement counters (kernel-patches/0005). */
enum { P_DEFAULT, P_CLAIM, P_CLAIM_OVERRIDE, P_SKIP, P_STEAL, P_NARROWED, NR_P };
static const char *const pname[NR_P] = {
	"placement_default", "placement_claim", "placement_claim_override",
	"placement_skip", "placement_steal", "placement_narrowed",
};

struct counts {
	long g[NR_G];
	long ev[ALLOC_EV_NR];
};

struct events {
	struct bpf_object *obj;
	int map_fd, blocks_fd, polluted_fd;
};

static int events_open(struct events *e)
{
	char path[512];
	struct bpf_program *p;

	snprintf(path, sizeof(path), "%s/alloc_events.bpf.o", env_or("FRAGML_TESTDIR", "."));
	e->obj = bpf_object__open_file(path, NULL);
	if (!e->obj || bpf_object__load(e->obj))
		return -1;
	bpf_object__for_each_program(p, e->obj)
		if (!bpf_program__attach(p))
			return -1;
	e->map_fd = bpf_object__find_map_fd_by_name(e->obj, "alloc_events");
	e->blocks_fd = bpf_object__find_map_fd_by_name(e->obj, "mixed_blocks");
	e->polluted_fd = bpf_object__find_map_fd_by_name(e->obj, "polluted_blocks");
	return e->map_fd < 0 || e->blocks_fd < 0 || e->polluted_fd < 0 ? -1 : 0;
}

static void clear_hash(int fd)
{
	__u64 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
}

/* Forget which pageblocks were mixed: each run counts its own. */
static void events_forget_blocks(const struct events *e)
{
	clear_hash(e->blocks_fd);
	clear_hash(e->polluted_fd);
}

static void counts_take(const struct events *e, struct counts *c)
{
	for (int i = 0; i < NR_G; i++)
		c->g[i] = vmstat(gname[i]);
	for (__u32 k = 0; k < ALLOC_EV_NR; k++) {
		__u64 v = 0;

		bpf_map_lookup_elem(e->map_fd, &k, &v);
		c->ev[k] = (long)v;
	}
}

static void counts_delta(struct counts *d, const struct counts *a, const struct counts *b)
{
	for (int i = 0; i < NR_G; i++)
		d->g[i] = b->g[i] - a->g[i];
	for (int i = 0; i < ALLOC_EV_NR; i++)
		d->ev[i] = b->ev[i] - a->ev[i];
}

static void counts_print(const char *what, const struct counts *d)
{
	printf("# %-16s fallbacks %ld mixing %ld (unmovable %ld) in %ld blocks, failed %ld (atomic %ld) | gate fallback %ld defer %ld refused %ld satisfied %ld fellback %ld reclaimed %ld compacted %ld (slow path %ld)\n",
	       what, d->ev[ALLOC_EV_FALLBACK], d->ev[ALLOC_EV_FALLBACK_MIXING],
	       d->ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE], d->ev[ALLOC_EV_BLOCKS_MIXED],
	       d->ev[ALLOC_EV_FAILED],
	       d->ev[ALLOC_EV_FAILED_ATOMIC], d->g[G_FALLBACK], d->g[G_DEFER], d->g[G_REFUSED],
	       d->g[G_SATISFIED], d->g[G_FELLBACK], d->g[G_RECLAIMED], d->g[G_COMPACTED],
	       d->g[G_SLOWPATH]);
	fflush(stdout);
}

static long meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/*
 * The child of run_workload(): scatter free memory over movable blocks, then
 * ask for `npipes` unmovable pages; report readiness on `ready`, then wait
 * to be killed (its pages stay allocated until then).
 */
static void workload_child(size_t anon_pages, int npipes, int ready, unsigned int pace_us)
{
	struct rlimit rl = { 2 * (rlim_t)npipes + 1024, 2 * (rlim_t)npipes + 1024 };
	static char page[PAGE_SZ];
	char *a;

	a = mmap(NULL, anon_pages * PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		_exit(2);
	madvise(a, anon_pages * PAGE_SZ, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < anon_pages; i++)
		a[i * PAGE_SZ] = 1;
	for (size_t i = 0; i < anon_pages; i += 2)
		madvise(a + i * PAGE_SZ, PAGE_SZ, MADV_DONTNEED);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		_exit(3);
	/* free memory is scattered now: the unmovable burst starts */
	if (write(ready, "a", 1) != 1)
		_exit(4);
	memset(page, 0x5a, sizeof(page));
	for (int i = 0; i < npipes; i++) {
		int fd[2];

		if (pipe(fd) || write(fd[1], page, sizeof(page)) != (ssize_t)sizeof(page))
			break;
		if (pace_us && i % 100 == 99)
			usleep(pace_us);
	}
	if (write(ready, "r", 1) != 1)
		_exit(4);
	pause();
	_exit(0);
}

struct workload {
	pid_t pid;
	size_t anon_pages;
	int npipes;
	unsigned int pace_us;	/* pause after every 100 pipes (0: none) */
};

/* Size the workload from the free memory of a freshly compacted guest. */
static void workload_size(struct workload *w)
{
	long free_kb = meminfo_kb("MemFree");

	w->anon_pages = (size_t)(free_kb * 85 / 100) / 4;
	w->npipes = (int)(free_kb * 25 / 100 / 4);
	sh("echo %d > /proc/sys/fs/file-max; echo %d > /proc/sys/fs/nr_open",
	   4 * w->npipes + 65536, 4 * w->npipes + 65536);
}

/* Fork the workload; returns the read end of its progress pipe. */
static int workload_spawn(struct workload *w)
{
	int p[2];

	sh("sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory");
	if (pipe(p))
		return -errno;
	w->pid = fork();
	if (w->pid < 0)
		return -errno;
	if (w->pid == 0) {
		close(p[0]);
		workload_child(w->anon_pages, w->npipes, p[1], w->pace_us);
	}
	close(p[1]);
	return p[0];
}

/* Wait for the workload to report `step` ('a': memory scattered, 'r': done). */
static int workload_wait(int fd, char step)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, 300 * 1000) != 1 || read(fd, &c, 1) != 1 || c != step)
		return -ETIMEDOUT;
	return 0;
}

/* Start the workload and wait until its pipes hold their pages. */
static int workload_start(struct workload *w)
{
	int fd = workload_spawn(w), ret;

	if (fd < 0)
		return fd;
	ret = workload_wait(fd, 'a');
	if (!ret)
		ret = workload_wait(fd, 'r');
	close(fd);
	return ret;
}

static void workload_stop(struct workload *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		w->pid = 0;
	}
}

/* One run of the workload under whatever policy is attached. */
static int measured_run(const struct events *e, struct workload *w, struct counts *d,
			const char *what)
{
	struct counts a, b;
	int ret;

	events_forget_blocks(e);
	counts_take(e, &a);
	ret = workload_start(w);
	counts_take(e, &b);
	workload_stop(w);
	counts_delta(d, &a, &b);
	counts_print(what, d);
	return ret;
}

FIXTURE(gate) {
	struct events ev;
	struct workload w;
};

FIXTURE_SETUP(gate)
{
	struct fragml_err err = {};

	if (fragml_policy_supported(&err) != 1)
		SKIP(return, "kernel has no %s: boot the patched kernel", FRAGML_POLICY_KTYPE);
	if (vmstat("fallback_gate_defer") < 0)
		SKIP(return, "kernel has no fallback gate (kernel-patches/0004)");
	reset_fragml();
	ASSERT_EQ(0, events_open(&self->ev)) TH_LOG("alloc_events.bpf.o: %s", strerror(errno));
	workload_size(&self->w);
	printf("# workload: %zu anonymous pages (half dropped again), %d pipe pages\n",
	       self->w.anon_pages, self->w.npipes);
}

FIXTURE_TEARDOWN(gate)
{
	workload_stop(&self->w);
	sh("[ -s /tmp/wsf ] && cat /tmp/wsf > /proc/sys/vm/watermark_scale_factor; rm -f /tmp/wsf");
	sh("[ -s /tmp/pcp-fraction ] && cat /tmp/pcp-fraction > /proc/sys/vm/percpu_pagelist_high_fraction; rm -f /tmp/pcp-fraction");
	reset_fragml();
	bpf_object__close(self->ev.obj);
}

/*
 * What each action does in the kernel, on the same workload: with no policy
 * the gate is never asked; a forced-fallback model is asked and every answer
 * falls back at once (no deferral, no reclaim or compaction on its account);
 * a forced-defer model's deferrals are honoured for every allocation that can
 * wait, each one ends exactly once (a page without fallback, or a fallback
 * after reclaim and compaction had their turn), and they did reclaim or
 * compaction work.
 *
 * How many non-movable pages end up in pageblocks of another type is printed,
 * not asserted.  The runs use small per-CPU page lists
 * (percpu_pagelist_high_fraction 100000, as swap_during_burst): with the
 * default ones (high ~4 000 pages per CPU in this guest) each allocation that
 * does fall back -- one the gate may not defer, or a deferral that ended --
 * refills its CPU's list with up to thousands of pages stolen from foreign
 * blocks, and the count follows those few refills (one boot each, the
 * workload without the test's other runs: no policy 4 179 vs forced defer
 * 25 156 mixing fallbacks; another boot 1 945 vs 563; with small lists
 * 3 389 vs 0).  With small lists forced defer left fewer than forced
 * fallback in four runs of this test out of four (0-1 091, against
 * 1 795-9 205), but runs in one boot are not independent: the first run
 * after boot often finds nearly nothing to fall back into (0 and 92 in two
 * of them), so two no-policy runs differ by up to 7 000 and the "fewer than
 * the no-policy spread" comparison failed in three of the four.  The
 * evaluation runner (one boot per cell, seeds; docs/report-gate.md) is where
 * that claim is measured.
 */
TEST_F_TIMEOUT(gate, forced_actions_enforced, 900)
{
	struct counts base, base2, fb, defer;
	long open, b1, b2, spread;

	sh("cat /proc/sys/vm/percpu_pagelist_high_fraction > /tmp/pcp-fraction; echo 100000 > /proc/sys/vm/percpu_pagelist_high_fraction");
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &base, "no policy"));
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &base2, "no policy again"));
	ASSERT_EQ(0, publish_const("fallback", "fallback"));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_GATE));
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &fb, "forced fallback"));
	ASSERT_EQ(0, publish_const("fallback", "defer"));
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &defer, "forced defer"));

	/* Some boots serve the whole burst from blocks claimed whole. */
	if (!fb.g[G_FALLBACK] && !defer.g[G_DEFER] && !defer.g[G_REFUSED])
		SKIP(return, "the workload never reached the fallback point (%ld mixing fallbacks without a policy)",
		     base.ev[ALLOC_EV_FALLBACK_MIXING]);
	/* No policy: the gate is never asked. */
	for (int i = 0; i < NR_G; i++) {
		long delta = base.g[i] + base2.g[i];
		const char *counter = gname[i];

		EXPECT_EQ(0, delta) TH_LOG("%s moved with no policy attached", counter);
	}
	/* Forced fallback: asked, and only ever falls back. */
	EXPECT_GT(fb.g[G_FALLBACK], 0);
	EXPECT_EQ(0, fb.g[G_DEFER] + fb.g[G_REFUSED] + fb.g[G_SATISFIED] + fb.g[G_FELLBACK]);
	EXPECT_EQ(0, fb.g[G_RECLAIMED] + fb.g[G_COMPACTED]);
	/* Forced defer: honoured, ended once each, and it cost reclaim/compaction. */
	EXPECT_GT(defer.g[G_DEFER], 0);
	EXPECT_EQ(0, defer.g[G_FALLBACK]);
	EXPECT_GT(defer.g[G_SATISFIED], 0);
	open = defer.g[G_DEFER] - defer.g[G_SATISFIED] - defer.g[G_FELLBACK];
	EXPECT_GE(open, 0);
	EXPECT_LE(open, 2) TH_LOG("%ld deferrals never ended", open);
	EXPECT_GT(defer.g[G_RECLAIMED] + defer.g[G_COMPACTED], 0);
	/* printed, not asserted (above): non-movable pages left in foreign blocks */
	b1 = base.ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE];
	b2 = base2.ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE];
	spread = b1 > b2 ? b1 - b2 : b2 - b1;
	printf("# non-movable mixing fallbacks: no policy %ld and %ld (spread %ld), forced fallback %ld, forced defer %ld\n",
	       b1, b2, spread, fb.ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE],
	       defer.ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE]);
}

/*
 * Allocations that cannot wait keep the kernel's behaviour: a model that
 * says "defer" for exactly the atomic ones sees them at the fallback point
 * (each answer counted as refused), defers none of them, and no atomic
 * allocation that expected success fails more often than without a policy.  Atomic allocations come from ICMP
 * echo replies of 60 000 bytes, built in softirq on the loopback device.
 */
static pid_t start_ping(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("busybox", "busybox", "ping", "-q", "-A", "-s", "60000", "-w", "600",
		       "127.0.0.1", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int atomic_run(FIXTURE_DATA(gate) *self, struct counts *d, const char *what)
{
	pid_t ping;
	int ret;

	sh("ip link set lo up 2>/dev/null || busybox ip link set lo up");
	ping = start_ping();
	usleep(500 * 1000);
	ret = measured_run(&self->ev, &self->w, d, what);
	kill(ping, SIGKILL);
	waitpid(ping, NULL, 0);
	return ret;
}

/* Add one run's counts to a running total. */
static void counts_add(struct counts *sum, const struct counts *d)
{
	for (int i = 0; i < NR_G; i++)
		sum->g[i] += d->g[i];
	for (int i = 0; i < ALLOC_EV_NR; i++)
		sum->ev[i] += d->ev[i];
}

/*
 * How often the workload's atomic allocations reach the fallback point
 * varies between runs with the migratetypes the previous runs left behind
 * (CI once saw 7 decisions, none of them atomic, after a baseline with 7 256
 * fallbacks).  So the test runs up to three pairs of runs, without and with
 * the gate, until the gate has seen atomic allocations; both totals cover the
 * same number of runs.
 */
TEST_F_TIMEOUT(gate, atomic_allocations_never_deferred, 900)
{
	struct counts base = {}, gate = {}, d;
	int pass;

	for (pass = 1; pass <= 3 && !gate.g[G_REFUSED]; pass++) {
		if (pass > 1) {
			reset_fragml();
			ASSERT_FALSE(policy_is(FRAGML_POLICY_GATE));
		}
		ASSERT_EQ(0, atomic_run(self, &d, "no policy + ping"));
		counts_add(&base, &d);
		ASSERT_EQ(0, publish_rule("fallback", "atomic<1?fallback:defer"));
		ASSERT_EQ(0, atomic_run(self, &d, "defer atomic + ping"));
		counts_add(&gate, &d);
	}
	printf("# %d pair(s) of runs\n", pass - 1);
	if (!gate.g[G_FALLBACK] && !gate.g[G_REFUSED] && !gate.g[G_DEFER])
		SKIP(return, "the workload never reached the fallback point");
	/* The gate saw atomic allocations and asked to defer them ... */
	EXPECT_GT(gate.g[G_REFUSED], 0);
	/* ... and the kernel deferred none: every answer was refused. */
	EXPECT_EQ(0, gate.g[G_DEFER]);
	/*
	 * No atomic allocation that expected success failed more often.  The
	 * NOWARN ones are opportunistic (slab tries its higher orders so) and
	 * vary with the workload by a factor of three between runs here.
	 */
	printf("# failed atomic allocations without __GFP_NOWARN: %ld with no policy, %ld with the gate\n",
	       base.ev[ALLOC_EV_FAILED_ATOMIC_WARN], gate.ev[ALLOC_EV_FAILED_ATOMIC_WARN]);
	EXPECT_LE(gate.ev[ALLOC_EV_FAILED_ATOMIC_WARN], base.ev[ALLOC_EV_FAILED_ATOMIC_WARN]);
}

/* Detaching restores the kernel default: the gate counters freeze. */
TEST_F_TIMEOUT(gate, detach_restores_default, 600)
{
	struct fragml_err err = {};
	struct counts d;

	ASSERT_EQ(0, publish_const("fallback", "defer"));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_GATE));
	ASSERT_EQ(0, fragml_policy_detach(&err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &d, "detached"));
	EXPECT_GT(d.ev[ALLOC_EV_FALLBACK], 0);
	for (int i = 0; i < NR_G; i++) {
		const char *counter = gname[i];
		long delta = d.g[i];

		EXPECT_EQ(0, delta) TH_LOG("%s changed with no policy attached", counter);
	}
}

/*
 * Under memory pressure the gate is asked in the slow path too: with the
 * low watermark raised far above the min watermark (watermark_scale_factor),
 * allocations run below the low watermark, where the fast path does not ask;
 * a forced-fallback model must then see decisions counted as asked in the
 * slow path, and they are part of the kernel's decision count.  (With no
 * policy the slow-path counter stays 0 like every gate counter: checked by
 * forced_actions_enforced and detach_restores_default.)
 */
TEST_F_TIMEOUT(gate, asked_under_pressure, 900)
{
	struct counts fb;

	if (vmstat("fallback_gate_slowpath") < 0)
		SKIP(return, "kernel's gate asks in the fast path only (no fallback_gate_slowpath)");
	sh("cat /proc/sys/vm/watermark_scale_factor > /tmp/wsf; echo 1000 > /proc/sys/vm/watermark_scale_factor");
	ASSERT_EQ(0, publish_const("fallback", "fallback"));
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &fb, "fallback, wsf 1000"));
	sh("cat /tmp/wsf > /proc/sys/vm/watermark_scale_factor");
	if (!fb.ev[ALLOC_EV_FALLBACK_MIXING])
		SKIP(return, "the workload made no mixing fallback under pressure");
	EXPECT_GT(fb.g[G_SLOWPATH], 0) TH_LOG("%ld mixing fallbacks, none asked in the slow path",
					      fb.ev[ALLOC_EV_FALLBACK_MIXING]);
	/* each slow-path ask is one of the decisions counted */
	EXPECT_LE(fb.g[G_SLOWPATH], fb.g[G_FALLBACK] + fb.g[G_REFUSED]);
}

/* Sum one (hook, row, action) decision counter over the CPUs. */
static long decisions(int fd, unsigned int hook, unsigned int row, unsigned int action)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = FRAGML_COUNTER_INDEX(hook, row, action);
	__u64 vals[ncpu > 0 ? ncpu : 1];
	long sum = 0;

	if (ncpu <= 0 || bpf_map_lookup_elem(fd, &key, vals))
		return -1;
	for (int i = 0; i < ncpu; i++)
		sum += (long)vals[i];
	return sum;
}

/*
 * "compact" is the cheap deferral (kernel-patches/0004): the allocation gets
 * one pageblock-order compaction and never enters direct reclaim for it;
 * each deferral ends once (a page without fallback, or the fallback), and
 * fragml counts the answers as their own action.  A kernel that took
 * "compact" for "now" defers nothing; one that ran the reclaiming deferral
 * counts pages reclaimed.
 */
TEST_F_TIMEOUT(gate, compact_deferral_never_reclaims, 900)
{
	struct counts c;
	long open, n = 0;
	int fd;

	ASSERT_EQ(0, publish_const("fallback", "compact"));
	ASSERT_EQ(0, measured_run(&self->ev, &self->w, &c, "forced compact"));
	if (!c.g[G_DEFER] && !c.g[G_REFUSED] && !c.g[G_FALLBACK])
		SKIP(return, "the workload never reached the fallback point (%ld mixing fallbacks)",
		     c.ev[ALLOC_EV_FALLBACK_MIXING]);
	fd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_counters");
	ASSERT_GE(fd, 0);
	for (unsigned int r = 0; r < FRAGML_COUNTER_ROWS; r++) {
		long k = decisions(fd, FRAGML_HOOK_FALLBACK, r, FRAGML_FALLBACK_COMPACT);

		ASSERT_GE(k, 0);
		n += k;
	}
	close(fd);
	printf("# fragml counted %ld compact decisions\n", n);
	EXPECT_GT(c.g[G_DEFER], 0);
	EXPECT_EQ(0, c.g[G_FALLBACK]);
	EXPECT_EQ(0, c.g[G_RECLAIMED]) TH_LOG("a compaction-only deferral reclaimed %ld pages",
					      c.g[G_RECLAIMED]);
	open = c.g[G_DEFER] - c.g[G_SATISFIED] - c.g[G_FELLBACK];
	EXPECT_GE(open, 0);
	EXPECT_LE(open, 2) TH_LOG("%ld deferrals never ended", open);
	/* every answer the kernel counted is one fragml counted as compact */
	EXPECT_GE(n, c.g[G_DEFER] + c.g[G_REFUSED]);
}

/*
 * Swapping the gate's model under load tears no decision: models alternate
 * between "always fallback" and "always defer"; each version's decisions
 * all carry its own action, and the kernel counted every decision the
 * policy made exactly once.
 */
/*
 * Publish constant models `a` then `b` for `hook` and swap between them
 * `swaps` times while the unmovable burst runs (paced to ~30 s), then detach
 * the policy so that no decision follows and the kernel's and the policy's
 * counters can agree.  Small per-CPU lists, so that each refill is one
 * decision and decisions keep coming through the burst rather than one per
 * ~1500 pages.  The workload stays alive (its pages allocated).
 */
/* Decisions the kernel counted for the gate's hook so far (vmstat). */
#define SWAP_EVERY	2
static long hook_decided(const char *hook)
{
	if (strcmp(hook, "placement"))
		return vmstat(gname[G_FALLBACK]) + vmstat(gname[G_DEFER]) + vmstat(gname[G_REFUSED]);
	return vmstat(pname[P_DEFAULT]) + vmstat(pname[P_CLAIM]) + vmstat(pname[P_SKIP]) +
	       vmstat(pname[P_STEAL]);
}

static int swap_during_burst(FIXTURE_DATA(gate) *self, const char *hook, const char *a,
			     const char *b, int swaps)
{
	struct fragml_open_opts oo = { .install = true };
	struct fragml_model *m[2] = { calloc(1, sizeof(**m)), calloc(1, sizeof(**m)) };
	struct fragml_handle *h = NULL;
	struct fragml_open_info oi;
	struct fragml_err err = {};
	char path[2][64];
	int progress = -1, ret = 0;
	uint32_t v;

	snprintf(path[0], sizeof(path[0]), "/tmp/%s-%s.bin", hook, a);
	snprintf(path[1], sizeof(path[1]), "/tmp/%s-%s.bin", hook, b);
	if (publish_const(hook, a) || publish_const(hook, b) || !m[0] || !m[1] ||
	    fragml_model_read_file(m[0], path[0], &err) || fragml_model_read_file(m[1], path[1], &err) ||
	    fragml_open(&h, &oo, &oi, &err)) {
		printf("# swap setup: %s\n", fragml_err_msg(&err));
		ret = -1;
		goto out;
	}
	sh("cat /proc/sys/vm/percpu_pagelist_high_fraction > /tmp/pcp-fraction; echo 100000 > /proc/sys/vm/percpu_pagelist_high_fraction");
	self->w.pace_us = 50 * 1000;
	progress = workload_spawn(&self->w);
	if (progress < 0)
		ret = -1;
	/*
	 * A new version each time the kernel has counted SWAP_EVERY more
	 * decisions of the hook, published from this process (a fragml-load
	 * per swap takes seconds in the guest), from the workload's start
	 * (its anonymous scatter is asked about too: page tables) to its
	 * end: when the hook is asked varies from boot to boot (all of a
	 * burst's decisions came before the first swap in one run, after the
	 * last in another), so the swaps follow the decisions.
	 */
	if (!ret) {
		struct pollfd pfd = { .fd = progress, .events = POLLIN };
		long last = hook_decided(hook);
		time_t end = time(NULL) + 300;	/* as workload_wait() */
		bool done = false;
		int i = 1, r;
		char c;

		while (!ret && !done) {
			if (time(NULL) > end) {
				printf("# the workload did not finish in 300 s\n");
				ret = -1;
				break;
			}
			r = poll(&pfd, 1, 10);	/* decisions come in clusters: look often */
			if (r > 0) {	/* 'a': memory scattered, the burst goes on; 'r': done */
				if (read(progress, &c, 1) != 1 || (c != 'a' && c != 'r'))
					ret = -1;
				done = c == 'r';
				continue;
			}
			if (r < 0 || i > swaps || hook_decided(hook) - last < SWAP_EVERY)
				continue;
			if (fragml_publish(h, m[i % 2 ? 0 : 1], &v, &err)) {
				printf("# swap %d: %s\n", i, fragml_err_msg(&err));
				ret = -1;
			}
			last = hook_decided(hook);
			i++;
		}
		printf("# %d swap(s) during the workload\n", i - 1);
	}
	sh("cat /tmp/pcp-fraction > /proc/sys/vm/percpu_pagelist_high_fraction");
out:
	if (progress >= 0)
		close(progress);
	fragml_close(h);
	free(m[0]);
	free(m[1]);
	if (fragml_policy_detach(&err)) {
		printf("# detach: %s\n", fragml_err_msg(&err));
		ret = -1;
	}
	return ret;
}

/*
 * Up to three bursts (each on fresh counter rows) until versions of both
 * kinds have decided: how often a burst reaches the gate varies between runs
 * with the migratetypes earlier tests left behind (a burst of 138 fallbacks
 * asked it 21 times, all under one version).
 */
TEST_F_TIMEOUT(gate, model_swap_under_load, 1200)
{
	const int swaps = 12;	/* 14 versions: 14 distinct counter rows */
	long seen[2] = { 0 }, torn = 0;
	bool exact = true;
	int burst;

	for (burst = 1; burst <= 3 && (!seen[0] || !seen[1]); burst++) {
		struct counts a, b, d;
		long total = 0;
		int fd;

		if (burst > 1)
			reset_fragml();	/* the versions, and so the rows, start again */
		counts_take(&self->ev, &a);
		ASSERT_EQ(0, swap_during_burst(self, "fallback", "defer", "fallback", swaps));
		fd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_counters");
		ASSERT_GE(fd, 0);
		counts_take(&self->ev, &b);
		workload_stop(&self->w);
		counts_delta(&d, &a, &b);
		counts_print("swapping models", &d);

		for (unsigned int r = 0; r < FRAGML_COUNTER_ROWS; r++) {
			long f = decisions(fd, FRAGML_HOOK_FALLBACK, r, FRAGML_FALLBACK_NOW);
			long df = decisions(fd, FRAGML_HOOK_FALLBACK, r, FRAGML_FALLBACK_DEFER);

			ASSERT_GE(f, 0);
			ASSERT_GE(df, 0);
			if (f || df)
				printf("# counter row %2u: fallback %ld defer %ld\n", r, f, df);
			/* A constant model's version decides only its own action. */
			{
				unsigned int row = r;

				EXPECT_TRUE(f == 0 || df == 0) TH_LOG("row %u has both actions: torn", row);
			}
			seen[df > 0] += f + df;
			total += f + df;
			torn += f && df;
		}
		close(fd);
		/* The kernel counted each of the policy's decisions exactly once. */
		EXPECT_EQ(total, d.g[G_FALLBACK] + d.g[G_DEFER] + d.g[G_REFUSED]);
		exact = exact && total == d.g[G_FALLBACK] + d.g[G_DEFER] + d.g[G_REFUSED];
	}
	printf("# %d burst(s)\n", burst - 1);
	/*
	 * Both kinds of version must have decided for the swaps to be tested;
	 * when three bursts reached the gate under one kind only (the workload's
	 * doing, not fragml's), say so rather than pass or fail on it.
	 */
	if ((!seen[0] || !seen[1]) && !torn && exact)
		SKIP(return, "only one kind of model decided in 3 bursts (%ld fallback, %ld defer decisions)",
		     seen[0], seen[1]);
	EXPECT_GT(seen[0], 0);
	EXPECT_GT(seen[1], 0);
}

/* ---- placement (kernel-patches/0005) ---- */

static void place_take(long *p)
{
	for (int i = 0; i < NR_P; i++)
		p[i] = vmstat(pname[i]);
}

/* One measured run; pl[] gets the placement counters' deltas. */
static int place_run(FIXTURE_DATA(gate) *self, struct counts *d, long *pl, const char *what)
{
	long a[NR_P], b[NR_P];
	int ret;

	place_take(a);
	ret = measured_run(&self->ev, &self->w, d, what);
	place_take(b);
	for (int i = 0; i < NR_P; i++)
		pl[i] = b[i] - a[i];
	printf("# %-16s non-movable fallbacks hit %ld blocks (%ld mixing, %ld claimed) | placement default %ld claim %ld (override %ld) skip %ld steal %ld narrowed %ld\n",
	       what, d->ev[ALLOC_EV_BLOCKS_POLLUTED], d->ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE],
	       d->ev[ALLOC_EV_FALLBACK_CLAIMED_UNMOVABLE], pl[P_DEFAULT], pl[P_CLAIM],
	       pl[P_CLAIM_OVERRIDE], pl[P_SKIP], pl[P_STEAL], pl[P_NARROWED]);
	fflush(stdout);
	return ret;
}

/*
 * "Claim" and "take only what is needed" do what they say, on the same
 * workload: with every candidate block claimed, non-movable fallbacks stop
 * leaving blocks of another type mixed (under a tenth of the mixing
 * fallbacks "steal" makes); with "steal" no block is ever claimed; the
 * kernel counts each answer as given.  No policy (and a policy without a
 * placement model) leaves the counters alone.
 */
TEST_F_TIMEOUT(gate, placement_claim_vs_steal, 900)
{
	long none[NR_P], thp[NR_P], steal[NR_P], claim[NR_P];
	struct counts dn, dt, ds, dc;

	if (vmstat("placement_claim") < 0)
		SKIP(return, "kernel has no placement hook (kernel-patches/0005)");
	ASSERT_EQ(0, place_run(self, &dn, none, "no policy"));
	ASSERT_EQ(0, publish_const("thp_fault", "default"));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_MODELS));
	ASSERT_EQ(0, place_run(self, &dt, thp, "no placement"));
	ASSERT_EQ(0, publish_const("placement", "steal"));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_PLACE));
	ASSERT_EQ(0, place_run(self, &ds, steal, "forced steal"));
	ASSERT_EQ(0, publish_const("placement", "claim"));
	ASSERT_EQ(0, place_run(self, &dc, claim, "forced claim"));

	for (int i = 0; i < NR_P; i++) {
		const char *counter = pname[i];

		EXPECT_EQ(0, none[i]) TH_LOG("%s moved with no policy attached", counter);
		EXPECT_EQ(0, thp[i]) TH_LOG("%s moved without a placement model", counter);
	}
	if (!steal[P_STEAL] && !claim[P_CLAIM])
		SKIP(return, "the workload never took pages from a foreign pageblock (%ld fallbacks without a policy)",
		     dn.ev[ALLOC_EV_FALLBACK]);
	/* each run got only its model's answer */
	EXPECT_GT(steal[P_STEAL], 0);
	EXPECT_EQ(0, steal[P_CLAIM] + steal[P_SKIP] + steal[P_DEFAULT]);
	/* steal claims no block in use (a wholly free block is taken whole
	 * before placement is asked: not counted, alloc_events.bpf.c) */
	EXPECT_EQ(0, ds.ev[ALLOC_EV_FALLBACK_CLAIMED_UNMOVABLE]);
	EXPECT_GT(claim[P_CLAIM], 0);
	EXPECT_GT(claim[P_CLAIM_OVERRIDE], 0);
	EXPECT_EQ(0, claim[P_STEAL] + claim[P_SKIP] + claim[P_DEFAULT]);
	/*
	 * A claim turns the block into the allocation's type: no non-movable
	 * fallback leaves a block of another type mixed, where "steal" leaves
	 * every one so.  How many blocks end up holding non-movable pages is
	 * another matter: a claimed block with few free pages fills at once and
	 * the next fallback claims another, while "steal" takes the smallest free
	 * page, often in a block it polluted before; two runs here gave 245 vs 180
	 * and 233 vs 303 blocks (claim vs steal): no consistent direction, so it
	 * is printed above, not asserted (docs/report-place.md).
	 */
	EXPECT_LT(dc.ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE] * 10,
		  ds.ev[ALLOC_EV_FALLBACK_MIXING_UNMOVABLE]);
	EXPECT_GT(dc.ev[ALLOC_EV_FALLBACK_CLAIMED_UNMOVABLE], 0);
}

/*
 * The identification model's prediction reaches the placement decision
 * (task_pred_long_ppk: the observe programs count the published lifetime
 * model's answers per process, the policy reads the share at placement).
 * The same placement rule -- take one page for a process predicted mostly
 * short-lived, claim otherwise -- steals for the workload under a lifetime
 * model that calls everything short, and never steals under one that calls
 * everything long.  A missing share claims, so a steal can come only from
 * the prediction.
 */
TEST_F_TIMEOUT(gate, placement_follows_lifetime_prediction, 900)
{
	static const char rule[] =
		"migratetype<1?(task_pred_long_ppk<512?steal:claim):"
		"(migratetype<2?default:(task_pred_long_ppk<512?steal:claim))";
	long pshort[NR_P], plong[NR_P];
	struct counts ds, dl;

	if (vmstat("placement_claim") < 0)
		SKIP(return, "kernel has no placement hook (kernel-patches/0005)");
	ASSERT_EQ(0, publish_const("lifetime", "short"));
	ASSERT_EQ(0, publish_rule("placement", rule));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_PLACE));
	ASSERT_EQ(0, place_run(self, &ds, pshort, "predicted short"));
	ASSERT_EQ(0, publish_const("lifetime", "long"));
	ASSERT_EQ(0, place_run(self, &dl, plong, "predicted long"));
	if (!pshort[P_STEAL] && !pshort[P_CLAIM] && !plong[P_CLAIM])
		SKIP(return, "placement was never asked (%ld fallbacks)", ds.ev[ALLOC_EV_FALLBACK]);
	EXPECT_GT(pshort[P_STEAL], 0) TH_LOG("no steal under a lifetime model predicting short: the prediction did not reach placement");
	EXPECT_EQ(0, plong[P_STEAL]) TH_LOG("%ld steals under a lifetime model predicting long", plong[P_STEAL]);
	EXPECT_GT(plong[P_CLAIM], 0);
}

/*
 * Swapping the placement model under load tears no decision: versions
 * alternate between "always claim" and "always steal"; each version's
 * decisions all carry its own action, and the kernel counted each of the
 * policy's decisions exactly once.  Up to three bursts, as
 * model_swap_under_load, until versions of both kinds have decided: a single
 * burst reached placement under one version only in two CI runs of three.
 */
TEST_F_TIMEOUT(gate, placement_swap_under_load, 1200)
{
	const int swaps = 12;
	long seen[2] = { 0 };
	bool clean = true;
	int burst;

	if (vmstat("placement_claim") < 0)
		SKIP(return, "kernel has no placement hook (kernel-patches/0005)");
	for (burst = 1; burst <= 3 && (!seen[0] || !seen[1]); burst++) {
		long a[NR_P], b[NR_P], total = 0, kernel = 0;
		int fd;

		if (burst > 1)
			reset_fragml();	/* the versions, and so the rows, start again */
		place_take(a);
		ASSERT_EQ(0, swap_during_burst(self, "placement", "claim", "steal", swaps));
		fd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_counters");
		ASSERT_GE(fd, 0);
		place_take(b);
		workload_stop(&self->w);

		for (unsigned int r = 0; r < FRAGML_COUNTER_ROWS; r++) {
			long c = decisions(fd, FRAGML_HOOK_PLACEMENT, r, FRAGML_PLACE_CLAIM);
			long st = decisions(fd, FRAGML_HOOK_PLACEMENT, r, FRAGML_PLACE_STEAL);
			long other = decisions(fd, FRAGML_HOOK_PLACEMENT, r, FRAGML_PLACE_DEFAULT) +
				     decisions(fd, FRAGML_HOOK_PLACEMENT, r, FRAGML_PLACE_SKIP);
			unsigned int row = r;

			ASSERT_GE(c, 0);
			ASSERT_GE(st, 0);
			if (c || st || other)
				printf("# burst %d counter row %2u: claim %ld steal %ld other %ld\n",
				       burst, r, c, st, other);
			EXPECT_TRUE(c == 0 || st == 0) TH_LOG("row %u has both actions: torn", row);
			EXPECT_EQ(0, other) TH_LOG("row %u: an action no version gives", row);
			clean = clean && (c == 0 || st == 0) && other == 0;
			seen[st > 0] += c + st;
			total += c + st + other;
		}
		close(fd);
		for (int i = 0; i < NR_P; i++)
			if (i != P_CLAIM_OVERRIDE && i != P_NARROWED)
				kernel += b[i] - a[i];
		/* The kernel counted each of the policy's decisions exactly once. */
		EXPECT_EQ(total, kernel);
		clean = clean && total == kernel;
	}
	printf("# %d burst(s)\n", burst - 1);
	if ((!seen[0] || !seen[1]) && clean)
		SKIP(return, "only one kind of model decided in 3 bursts (%ld claim, %ld steal decisions)",
		     seen[0], seen[1]);
	EXPECT_GT(seen[0], 0);
	EXPECT_GT(seen[1], 0);
}

TEST_HARNESS_MAIN
