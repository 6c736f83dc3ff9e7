// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VM selftests for enforce mode: run as root inside the patched kernel
 * (make vmtest), THP `always`.  They prove that the struct_ops policy
 * (bpf/fragml_policy.bpf.c) enforces the loaded models' decisions, that model
 * and policy swaps are atomic, that detaching restores the kernel default, and
 * that the kernel's own mm selftests still pass with a policy attached.
 *
 * Models come from the real tools: fragml-mkmodel writes them and fragml-load
 * publishes them (FRAGML_BIN).  The kernel's mm selftests are in FRAGML_MMDIR,
 * the wrong-type struct_ops object in FRAGML_TESTDIR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "fragml_model.h"
#include "fragml_policy.h"
#include "vmlib.h"

/* The vmstat counters the tests compare, before and after a step. */
enum { C_ALLOC, C_FALLBACK, C_DECLINED, C_NOCOMPACT, C_COMPACT, C_DEFAULT,
       C_STALL, C_CSUCCESS, C_CFAIL, C_PSKIP, C_PRUN, NR_C };
static const char *const cname[NR_C] = {
	"thp_fault_alloc", "thp_fault_fallback", "thp_fault_declined",
	"thp_fault_policy_no_compact", "thp_fault_policy_compact",
	"thp_fault_policy_default", "compact_stall", "compact_success",
	"compact_fail", "compact_policy_skip", "compact_policy_run",
};

struct snap { long v[NR_C]; };

static void snap_take(struct snap *s)
{
	for (int i = 0; i < NR_C; i++)
		s->v[i] = vmstat(cname[i]);
}

static void snap_delta(struct snap *d, const struct snap *a, const struct snap *b)
{
	for (int i = 0; i < NR_C; i++)
		d->v[i] = b->v[i] - a->v[i];
}

static void snap_print(const char *what, const struct snap *d)
{
	printf("# %-22s alloc %ld fallback %ld declined %ld | policy no_compact %ld compact %ld default %ld | compact stall %ld success %ld fail %ld | policy skip %ld run %ld\n",
	       what, d->v[C_ALLOC], d->v[C_FALLBACK], d->v[C_DECLINED], d->v[C_NOCOMPACT],
	       d->v[C_COMPACT], d->v[C_DEFAULT], d->v[C_STALL], d->v[C_CSUCCESS], d->v[C_CFAIL],
	       d->v[C_PSKIP], d->v[C_PRUN]);
	fflush(stdout);
}

/*
 * The kernel's own mm selftests (same tarball) pass with a policy attached
 * that returns "kernel default", and with one that always asks for a huge
 * page with compaction.
 */
FIXTURE(mm) {
	struct snap before, after, d;
};

FIXTURE_VARIANT(mm) {
	const char *policy;
};

FIXTURE_VARIANT_ADD(mm, kdefault) {
	.policy = FRAGML_POLICY_KDEFAULT,
};

FIXTURE_VARIANT_ADD(mm, always_compact) {
	.policy = FRAGML_POLICY_COMPACT,
};

FIXTURE_SETUP(mm)
{
	struct fragml_err err = {};
	int ret = fragml_policy_supported(&err);

	if (ret != 1)
		SKIP(return, "kernel has no %s: boot the patched kernel", FRAGML_POLICY_KTYPE);
	reset_fragml();
	ret = fragml_policy_attach_variant(variant->policy, &err);
	ASSERT_EQ(0, ret) TH_LOG("attach: %s", fragml_err_msg(&err));
	ASSERT_TRUE(policy_is(variant->policy));
	snap_take(&self->before);
}

FIXTURE_TEARDOWN(mm)
{
	reset_fragml();
}

/*
 * Run one of the kernel's mm selftests; its own KTAP goes to a log file.
 * With `results` > 0 the test is stopped once it has printed that many
 * results (the ones after need what the guest lacks, see below); the exit
 * status is then 1 if one of them was "not ok", else 0.
 */
static int run_mm_test(const char *policy, const char *test, const char *args, int results)
{
	const char *dir = env_or("FRAGML_MMDIR", ".");
	const char *logdir = access("/tmp/out", W_OK) ? "/tmp" : "/tmp/out";
	int p[2], seen = 0, failed = 0, rc = -1, status;
	struct timespec a, b;
	char log[256], cmd[512], line[1024];
	FILE *in, *out;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/mm-%s-%s.log", logdir, policy, test);
	snprintf(cmd, sizeof(cmd), "exec %s/%s %s", dir, test, args);
	if (access(dir, X_OK))
		return -1;
	out = fopen(log, "w");
	if (!out)
		return -1;
	if (pipe(p)) {
		fclose(out);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		if (chdir("/tmp"))
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	in = pid > 0 ? fdopen(p[0], "r") : NULL;
	while (in && fgets(line, sizeof(line), in)) {
		fputs(line, out);
		if (!strncmp(line, "not ok ", 7))
			failed = 1;
		if (!strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7))
			seen++;
		if (results > 0 && seen == results) {
			fprintf(out, "# fragml: stopped after %d results\n", seen);
			kill(pid, SIGKILL);
			break;
		}
	}
	if (in)
		fclose(in);
	else
		close(p[0]);
	fclose(out);
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		rc = results > 0 && seen == results ? failed :
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# %s with %s: exit %d after %ld s, %d results (log %s)\n", test, policy, rc,
	       (long)(b.tv_sec - a.tv_sec), seen, log);
	if (rc != 0 && rc != 4)
		sh("tail -15 %s | sed 's/^/#   /'", log);
	return rc;
}

/* `results`: stop the test after that many results (0: run it whole). */
#define MM_TEST(name, bin, args, results, why, tmo)				\
TEST_F_TIMEOUT(mm, name, tmo)							\
{										\
	int rc = run_mm_test(variant->policy, bin, args, results);		\
										\
	if (rc == 4)								\
		SKIP(return, "%s skipped itself (see its log)", bin);		\
	ASSERT_EQ(0, rc) TH_LOG("%s failed with %s attached", bin, variant->policy); \
	EXPECT_TRUE(policy_is(variant->policy));				\
	snap_take(&self->after);						\
	snap_delta(&self->d, &self->before, &self->after);			\
	snap_print(bin, &self->d);						\
	if (results)								\
		printf("# %s: its first %d results only: %s\n", bin, results, why); \
}

/*
 * They run first, on unfragmented memory.  split_huge_page_test stops after
 * its first three results (zero-filled, PMD- and PTE-mapped anonymous THP,
 * file-backed THP on its own tmpfs): the nine page-cache cases after them need
 * a file system with large folios (XFS) that the guest does not have (tmpfs,
 * 9p), and each writes its 4 MiB test file one byte per write() before it
 * finds that out and skips itself: 9 x 23 s under TCG for nine SKIPs.
 * khugepaged (built into FRAGML_MMDIR too) is not run: its swap tests need a
 * swap device and collapse_compound_extreme holds 512 PTE-mapped THPs
 * (1 GiB), more than this 1 GiB guest can give it reliably.
 */
MM_TEST(compaction_test, "compaction_test", "", 0, "", 300)
MM_TEST(transhuge_stress, "transhuge-stress", "-d 10 64", 0, "", 120)
MM_TEST(split_huge_page_test, "split_huge_page_test", "", 3,
	"page-cache splits need a file system with large folios; the guest has tmpfs and 9p", 300)

FIXTURE(policy) {
	struct snap before, after, d;
};

FIXTURE_SETUP(policy)
{
	struct fragml_err err = {};
	int ret = fragml_policy_supported(&err);

	if (ret != 1)
		SKIP(return, "kernel has no %s: boot the patched kernel", FRAGML_POLICY_KTYPE);
	reset_fragml();
	ret = fragml_policy_attach(&err);
	ASSERT_EQ(0, ret) TH_LOG("attach: %s", fragml_err_msg(&err));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_MODELS));
}

FIXTURE_TEARDOWN(policy)
{
	reset_fragml();
}

/* A "decline" model: no huge page at fault time, the declined counter grows. */
TEST_F_TIMEOUT(policy, decline_model, 120)
{
	struct region r;

	ASSERT_EQ(0, publish_const("thp_fault", "decline"));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, 64));
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("decline model", &self->d);
	EXPECT_EQ(0, self->d.v[C_ALLOC]);
	EXPECT_GE(self->d.v[C_DECLINED], 32);
	/* Declined faults are not fallbacks. */
	EXPECT_EQ(0, self->d.v[C_FALLBACK]);
	unmap_region(&r);
}

/* An "always" model (huge page with compaction): the faulter gets them. */
TEST_F_TIMEOUT(policy, always_model, 120)
{
	struct region r;

	ASSERT_EQ(0, publish_const("thp_fault", "compact"));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, 64));
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("always model", &self->d);
	EXPECT_GE(self->d.v[C_ALLOC], 24);
	EXPECT_EQ(0, self->d.v[C_DECLINED]);
	EXPECT_GE(self->d.v[C_COMPACT], 32);
	unmap_region(&r);
}

/* A model swap mid-run changes the decision from the next fault on. */
TEST_F_TIMEOUT(policy, swap_models_mid_run, 120)
{
	struct region r;
	size_t half;

	ASSERT_EQ(0, publish_const("thp_fault", "decline"));
	r.len = 64UL << 20;
	r.raw = mmap(NULL, r.len + HUGE_SZ, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.raw);
	r.p = (char *)(((unsigned long)r.raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	ASSERT_EQ(0, madvise(r.p, r.len, MADV_HUGEPAGE));
	half = r.len / 2;

	snap_take(&self->before);
	for (size_t off = 0; off < half; off += 4096)
		r.p[off] = 1;
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("first half, decline", &self->d);
	EXPECT_EQ(0, self->d.v[C_ALLOC]);
	EXPECT_GE(self->d.v[C_DECLINED], 16);

	ASSERT_EQ(0, publish_const("thp_fault", "compact"));
	snap_take(&self->before);
	for (size_t off = half; off < r.len; off += 4096)
		r.p[off] = 1;
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("second half, compact", &self->d);
	EXPECT_GE(self->d.v[C_ALLOC], 12);
	EXPECT_EQ(0, self->d.v[C_DECLINED]);
	unmap_region(&r);
}

/* Detaching the policy restores the kernel default; the new counters freeze. */
TEST_F_TIMEOUT(policy, detach_restores_default, 120)
{
	struct fragml_err err = {};
	struct region r;

	ASSERT_EQ(0, publish_const("thp_fault", "decline"));
	ASSERT_EQ(0, fragml_policy_detach(&err)) TH_LOG("%s", fragml_err_msg(&err));
	EXPECT_FALSE(policy_is(FRAGML_POLICY_MODELS));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, 64));
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("detached", &self->d);
	EXPECT_GE(self->d.v[C_ALLOC], 24);
	EXPECT_EQ(0, self->d.v[C_DECLINED]);
	EXPECT_EQ(0, self->d.v[C_NOCOMPACT] + self->d.v[C_COMPACT] + self->d.v[C_DEFAULT]);
	EXPECT_EQ(0, self->d.v[C_PSKIP] + self->d.v[C_PRUN]);
	unmap_region(&r);
}

/*
 * The policy program itself is swapped atomically by a link update; an
 * update to a struct_ops map of another type (tcp_congestion_ops) fails and
 * leaves the attached policy in force.
 */
TEST_F_TIMEOUT(policy, link_update, 120)
{
	char path[512];
	struct fragml_err err = {};
	struct bpf_object *obj;
	struct bpf_map *map;
	struct region r;
	int link_fd, ret;

	/* Wrong type first. */
	snprintf(path, sizeof(path), "%s/wrong_type.bpf.o", env_or("FRAGML_TESTDIR", "."));
	obj = bpf_object__open_file(path, NULL);
	ASSERT_NE(NULL, obj) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, bpf_object__load(obj));
	map = bpf_object__find_map_by_name(obj, "fragml_wrong");
	ASSERT_NE(NULL, map);
	link_fd = bpf_obj_get(FRAGML_POLICY_PIN);
	ASSERT_GE(link_fd, 0);
	ret = bpf_link_update(link_fd, bpf_map__fd(map), NULL);
	EXPECT_NE(0, ret);
	EXPECT_EQ(EINVAL, errno);
	close(link_fd);
	bpf_object__close(obj);
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS));

	/* The attached policy still enforces the model. */
	ASSERT_EQ(0, publish_const("thp_fault", "decline"));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, 16));
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	EXPECT_EQ(0, self->d.v[C_ALLOC]);
	unmap_region(&r);

	/* A same-type update swaps the program: the model no longer decides. */
	ASSERT_EQ(0, fragml_policy_update(FRAGML_POLICY_KDEFAULT, &err))
		TH_LOG("%s", fragml_err_msg(&err));
	EXPECT_TRUE(policy_is(FRAGML_POLICY_KDEFAULT));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, 16));
	snap_take(&self->after);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("after update kdefault", &self->d);
	EXPECT_GE(self->d.v[C_ALLOC], 6);
	EXPECT_EQ(0, self->d.v[C_DECLINED]);
	EXPECT_GE(self->d.v[C_DEFAULT], 8);
	unmap_region(&r);

	/* An unknown variant is refused, the policy stays. */
	EXPECT_EQ(-EINVAL, fragml_policy_update("no_such_policy", &err));
	EXPECT_TRUE(policy_is(FRAGML_POLICY_KDEFAULT));
}

/*
 * On memory fragmented by unmovable scatter: the no-compaction action keeps
 * the faulter out of compaction (other allocations may still stall a few
 * times), the compaction action does stall, and a compaction model
 * that says "skip" prevents the direct compactions it is asked about.
 */
TEST_F_TIMEOUT(policy, fragmented_compaction, 420)
{
	int npipes = atoi(env_or("FRAGML_FRAG_PIPES", "0")) ?: pipes_for_memory();
	size_t mb = atoi(env_or("FRAGML_FAULT_MB", "384"));
	long nocompact_stalls;
	struct region r;
	int kept;

	kept = fragment_unmovable(npipes);
	ASSERT_GT(kept, 0);
	printf("# %d pipes, %d kept open\n", npipes, kept);
	print_frag_state("fragmented");

	ASSERT_EQ(0, publish_const("thp_fault", "no_compact"));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, mb));
	snap_take(&self->after);
	unmap_region(&r);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("no_compact model", &self->d);
	/* The faulter never stalls; other allocations (slab, stacks) may. */
	nocompact_stalls = self->d.v[C_STALL];
	EXPECT_GE(self->d.v[C_NOCOMPACT], (long)mb / 2 / 2);

	ASSERT_EQ(0, publish_const("thp_fault", "compact"));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, mb));
	snap_take(&self->after);
	unmap_region(&r);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("compact model", &self->d);
	EXPECT_GT(self->d.v[C_STALL], 0);
	EXPECT_LE(nocompact_stalls * 10, self->d.v[C_STALL])
		TH_LOG("no_compact stalled %ld times, compact %ld", nocompact_stalls, self->d.v[C_STALL]);
	EXPECT_GT(self->d.v[C_PRUN], 0);	/* the compaction hook was asked */

	ASSERT_EQ(0, publish_const("compaction", "skip"));
	snap_take(&self->before);
	ASSERT_EQ(0, fault_region(&r, mb));
	snap_take(&self->after);
	unmap_region(&r);
	snap_delta(&self->d, &self->before, &self->after);
	snap_print("compact + skip model", &self->d);
	EXPECT_EQ(0, self->d.v[C_STALL]);
	EXPECT_GT(self->d.v[C_PSKIP], 0);
	EXPECT_EQ(0, self->d.v[C_PRUN]);
}

/*
 * fragml's own kernel memory must not change what a memory-tight workload
 * gets: the pipe scatter of fragml-work (150 000 pipes holding one page each,
 * 1 in 8 kept) runs once with nothing loaded and once with the three shipped
 * models loaded the way a user loads them (enforce mode: fragml-load, no
 * options).  Same outcome required: the same exit status, no OOM kill that
 * the kernel default did not have; and loading costs at most FOOTPRINT_MARGIN
 * of available memory (MemAvailable plus the per-CPU free lists).
 */
/*
 * fragml must hold at most 4 MiB of kernel memory here, as the kernel reports
 * it (fragml status), and cost at most 16 MiB of available memory across loading.
 * Loading the three shipped models costs 3.5-6 MiB of free memory in the 1 GB
 * guest (2.9 MiB of it vmalloc: the BPF JIT's 2 MiB code packs, the larger
 * maps; docs/performance.md); the 49 MiB fragml held before its maps were sized to the machine fail both.
 */
#define FOOTPRINT_MARGIN_KB	(16 * 1024)
#define FOOTPRINT_KERNEL_MAX	(4L << 20)

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

struct tight_run { int status; long oom_kills, avail_kb; };

static void tight_run(struct tight_run *r)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	long oom0;

	sh("sync; echo 3 > /proc/sys/vm/drop_caches");
	sleep(1);
	r->avail_kb = meminfo_kb("MemAvailable");
	oom0 = vmstat("oom_kill");
	r->status = sh("%s/fragml-work --count 150000 --hold 2 pipes >/dev/null 2>&1", bin);
	r->oom_kills = vmstat("oom_kill") - oom0;
	printf("# exit %d, oom kills %ld, MemAvailable before %ld kB\n", r->status, r->oom_kills,
	       r->avail_kb);
	fflush(stdout);
}

/* kB of free pages held on the per-CPU lists (zoneinfo "count:"), all zones */
static long pcp_free_kb(void)
{
	char line[256];
	long pages = 0, n;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &n) == 1)
			pages += n;
	fclose(f);
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Memory available to a workload once caches are dropped: MemAvailable plus
 * the free pages parked on the per-CPU lists, which MemAvailable leaves out
 * and which held 10-27 MiB in this guest, moving by up to 17 MiB between two
 * measurements; the best of three samples a second apart.
 */
static long avail_settled(void)
{
	long best = -1;

	for (int i = 0; i < 3; i++) {
		long v;

		sh("sync; echo 3 > /proc/sys/vm/drop_caches");
		sleep(1);
		v = meminfo_kb("MemAvailable") + pcp_free_kb();
		if (v > best)
			best = v;
	}
	return best;
}

static int load_shipped(const char *bin, const char *models)
{
	return sh("for m in lifetime thp_fault compaction; do %s/fragml-load -q %s/$m.bin || exit 1; done",
		  bin, models);
}

/*
 * The footprint is the available memory (avail_settled()) just before and
 * just after loading, measured first, with nothing of this test run yet (a
 * pipe workload leaves slab behind that would be counted against whoever ran
 * second).  Then the workload runs once without and once with fragml and
 * must end the same way.
 */
TEST_F_TIMEOUT(policy, footprint_memory_tight, 600)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	const char *models = env_or("FRAGML_MODELS", NULL);
	struct tight_run base, loaded;
	long before, after, kernel_bytes;
	char dir[512];

	if (!models) {
		snprintf(dir, sizeof(dir), "%s/../../model/defaults", bin);
		models = dir;
	}
	reset_fragml();
	before = avail_settled();
	ASSERT_EQ(0, load_shipped(bin, models));
	after = avail_settled();
	sh("%s/fragml status | grep '^kernel memory' | sed 's/^/# /'", bin);
	kernel_bytes = -1;
	if (!sh("%s/fragml status | sed -n 's/^kernel memory[^:]*: \\([0-9]*\\) bytes.*/\\1/p' > /tmp/kmem.txt", bin)) {
		FILE *f = fopen("/tmp/kmem.txt", "r");

		if (f && fscanf(f, "%ld", &kernel_bytes) != 1)
			kernel_bytes = -1;
		if (f)
			fclose(f);
	}
	printf("# MemAvailable + per-CPU free pages: %ld kB before loading, %ld kB after\n",
	       before, after);
	reset_fragml();
	tight_run(&base);
	ASSERT_EQ(0, load_shipped(bin, models));
	tight_run(&loaded);
	reset_fragml();
	EXPECT_EQ(base.status, loaded.status);
	EXPECT_LE(loaded.oom_kills, base.oom_kills);
	EXPECT_GT(kernel_bytes, 0) TH_LOG("fragml status reported no kernel memory");
	EXPECT_LE(kernel_bytes, FOOTPRINT_KERNEL_MAX);
	EXPECT_GE(after, before - FOOTPRINT_MARGIN_KB)
		TH_LOG("fragml took %ld kB of available memory (margin %d kB)", before - after,
		       FOOTPRINT_MARGIN_KB);
}

/*
 * The audit's pairs of one hook: each vector the enforcing policy recorded for
 * this process, against the one the observe programs recorded at the same key
 * (docs/features.md "One feature path").  Features in `skip` are computed by
 * one side only; those in `near` are the zone or node free counts, which move
 * between the policy's call and the event observe sees (other allocations and
 * frees): within 2 blocks / 2 per 1024 they count as agreeing; those in
 * `drift` are rates read at two moments (fragml_rate_at() interpolates the
 * window pair with the time): within 10 %.
 */
struct audit_sum {
	unsigned int policy_rows, pairs, equal, rate_rows, density_rows;
	unsigned int mismatch[FRAGML_MAX_FEATURES], near[FRAGML_MAX_FEATURES];
};

static const char *fname(int f)
{
	const struct fragml_feature_desc *d = fragml_feature_by_id(f);

	return d ? d->name : "?";
}

static void audit_pairs(struct __test_metadata *_metadata, int fd, __u32 hook, __u64 skip,
			__u64 near, __u64 drift, struct audit_sum *s)
{
	struct fragml_vaudit_key k, next, ok, *prev = NULL;
	struct fragml_vec pv, ov;

	memset(s, 0, sizeof(*s));
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool same = true;

		k = next;
		prev = &k;
		if (k.side != FRAGML_VAUDIT_POLICY || k.hook != hook ||
		    k.tgid != (__u32)getpid() || bpf_map_lookup_elem(fd, &k, &pv))
			continue;
		s->policy_rows++;
		s->rate_rows += pv.f[FRAGML_F_TASK_ALLOC_RATE] != FRAGML_MISSING;
		s->density_rows += pv.f[FRAGML_F_TASK_DENSITY_PPK] != FRAGML_MISSING;
		ok = k;
		ok.side = FRAGML_VAUDIT_OBSERVE;
		if (bpf_map_lookup_elem(fd, &ok, &ov))
			continue;	/* nothing observed of this decision */
		s->pairs++;
		for (int f = 0; f < FRAGML_MAX_FEATURES; f++) {
			if ((skip >> f & 1) || pv.f[f] == ov.f[f])
				continue;
			if (pv.f[f] != FRAGML_MISSING && ov.f[f] != FRAGML_MISSING &&
			    (((near >> f & 1) && abs(pv.f[f] - ov.f[f]) <= 2) ||
			     ((drift >> f & 1) && 10LL * llabs((long long)pv.f[f] - ov.f[f]) <=
						  llabs((long long)pv.f[f])))) {
				s->near[f]++;
				continue;
			}
			if (s->mismatch[f]++ < 2)
				TH_LOG("%s at %#llx: feature %s: policy %d, observe %d",
				       fragml_hook_name(hook), (unsigned long long)k.where,
				       fname(f), pv.f[f], ov.f[f]);
			same = false;
		}
		s->equal += same;
	}
	for (int f = 0; f < FRAGML_MAX_FEATURES; f++)
		if (s->mismatch[f] || s->near[f])
			printf("#   %s: %s differs in %u pairs, within the tolerance in %u more\n",
			       fragml_hook_name(hook), fname(f), s->mismatch[f], s->near[f]);
}

static int audit_open(struct __test_metadata *_metadata, int *on_fd)
{
	char on_path[256], map_path[256];
	int fd;

	snprintf(on_path, sizeof(on_path), "%s/fragml_vaudit_on", FRAGML_PIN_DIR);
	snprintf(map_path, sizeof(map_path), "%s/fragml_vaudit", FRAGML_PIN_DIR);
	*on_fd = bpf_obj_get(on_path);
	fd = bpf_obj_get(map_path);
	if (*on_fd < 0 || fd < 0)
		TH_LOG("%s, %s: %s", on_path, map_path, strerror(errno));
	return *on_fd < 0 ? -1 : fd;
}

static int audit_switch(int on_fd, __u32 on)
{
	__u32 zero = 0;

	return bpf_map_update_elem(on_fd, &zero, &on, BPF_ANY);
}

#define FBIT(f)	(1ULL << (f))
/* per-second rates, interpolated with the time they are read at */
#define AUDIT_RATES	(FBIT(FRAGML_F_TASK_ALLOC_RATE) | FBIT(FRAGML_F_TASK_THP_RATE) | \
			 FBIT(FRAGML_F_EXTFRAG_RATE))

/*
 * One feature path: at the same real THP faults, the vector the enforcing
 * policy decided on (built from the kernel's hook context) and the one the
 * observe programs computed (from the tracepoint and kernel structures) are
 * the same, feature by feature, but for gfp_bits, which only the policy can
 * know (docs/features.md).  The policy's vectors carry the rate and density
 * features it reads from the observe programs' state.
 */
TEST_F_TIMEOUT(policy, feature_vectors_agree, 180)
{
	struct audit_sum s;
	struct region r;
	int on_fd, fd;

	/* the observe programs first (fragml-load), then the policy shares their state */
	reset_fragml();
	ASSERT_EQ(0, publish_const("thp_fault", "compact"));
	fd = audit_open(_metadata, &on_fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, audit_switch(on_fd, 1));
	ASSERT_EQ(0, fault_region(&r, 64));
	ASSERT_EQ(0, audit_switch(on_fd, 0));
	audit_pairs(_metadata, fd, FRAGML_HOOK_THP_FAULT, FBIT(FRAGML_F_GFP_BITS),
		    FBIT(FRAGML_F_FREE_HUGE_BLOCKS) | FBIT(FRAGML_F_UNUSABLE_PPK), AUDIT_RATES, &s);
	printf("# feature vectors: %u policy decisions, %u with an observed huge page, %u identical (gfp_bits aside); rates in %u, density in %u\n",
	       s.policy_rows, s.pairs, s.equal, s.rate_rows, s.density_rows);
	unmap_region(&r);
	close(on_fd);
	close(fd);
	ASSERT_GE(s.policy_rows, 24u);
	ASSERT_GE(s.pairs, 16u);
	EXPECT_GE(s.equal * 10, s.pairs * 9) TH_LOG("%u of %u pairs identical", s.equal, s.pairs);
	/* state shared with the observe programs reaches the policy */
	EXPECT_GE(s.rate_rows, s.policy_rows / 2);
	EXPECT_GE(s.density_rows, s.policy_rows / 2);
}

/*
 * The same at real direct compactions, on memory fragmented by unmovable
 * scatter: the policy is asked in try_to_compact_pages() just before
 * compact_zone() of the same zone and order, in the same thread, where
 * observe computes its vector at mm_compaction_begin (keyed by thread, zone
 * index, order and the thread's count of calls).  Every compaction feature is
 * computed by both sides.
 */
TEST_F_TIMEOUT(policy, compaction_vectors_agree, 420)
{
	int npipes = atoi(env_or("FRAGML_FRAG_PIPES", "0")) ?: pipes_for_memory();
	struct audit_sum s;
	struct region r;
	int on_fd, fd, kept;

	reset_fragml();
	ASSERT_EQ(0, publish_const("thp_fault", "compact"));
	kept = fragment_unmovable(npipes);
	ASSERT_GT(kept, 0);
	fd = audit_open(_metadata, &on_fd);
	ASSERT_LE(0, fd);
	/*
	 * After a failed direct compaction the kernel defers the next ones
	 * (compaction_deferred()), so one pass may ask the policy a hundred
	 * times and compact only a few: fault again, up to four passes, until
	 * enough compactions were seen by both sides.  The audit keys carry the
	 * thread's call count, so the passes add up.
	 */
	for (int pass = 1; pass <= 4; pass++) {
		ASSERT_EQ(0, audit_switch(on_fd, 1));
		ASSERT_EQ(0, fault_region(&r, 384));
		ASSERT_EQ(0, audit_switch(on_fd, 0));
		unmap_region(&r);
		audit_pairs(_metadata, fd, FRAGML_HOOK_COMPACTION, 0,
			    FBIT(FRAGML_F_FREE_HUGE_BLOCKS) | FBIT(FRAGML_F_UNUSABLE_PPK),
			    AUDIT_RATES, &s);
		printf("# compaction vectors after pass %d: %u policy calls of this thread, %u with a compaction observed, %u identical\n",
		       pass, s.policy_rows, s.pairs, s.equal);
		if (s.pairs >= 4)
			break;
	}
	close(on_fd);
	close(fd);
	ASSERT_GE(s.pairs, 4u) TH_LOG("too few direct compactions of the faulter seen by both sides");
	EXPECT_GE(s.equal * 10, s.pairs * 9) TH_LOG("%u of %u pairs identical", s.equal, s.pairs);
}

/*
 * The policy decides through the compiled form of the published model: the
 * loader put a struct_ops program generated from it in the thp_fault
 * callback's program array, the callback tail-calls it, and it leaves its
 * result after the vector in the policy's per-CPU scratch (a decision of the
 * map evaluator marks that result as none).  Pinned to one CPU, the test
 * faults 64 MB one huge page at a time and reads that CPU's scratch after
 * each fault: the decision carries the model's version and the action and
 * score the userspace reference evaluator computes from the same vector (the
 * shipped thp_fault model: 16 trees).
 */
TEST_F_TIMEOUT(policy, compiled_decides, 180)
{
	const char *bin = env_or("FRAGML_BIN", "/usr/local/bin");
	int ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu(), sfd, afd;
	struct fragml_model *m = calloc(1, sizeof(*m));
	struct fragml_cio *c = calloc(ncpu > 0 ? ncpu : 1, sizeof(*c));
	unsigned int faults = 0, compiled = 0, agree = 0;
	__u32 zero = 0, key = FRAGML_HOOK_THP_FAULT, id = 0, version = 0;
	struct fragml_err err = {};
	struct region r;
	char path[512];
	cpu_set_t set;

	ASSERT_TRUE(m && c && ncpu > 0 && cpu >= 0 && cpu < ncpu);
	_Static_assert(sizeof(struct fragml_cio) % 8 == 0, "per-CPU values are 8-byte aligned");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	snprintf(path, sizeof(path), "%s/../../model/defaults/thp_fault.bin", bin);
	ASSERT_EQ(0, fragml_model_read_file(m, path, &err)) TH_LOG("%s", fragml_err_msg(&err));
	reset_fragml();
	ASSERT_EQ(0, sh("%s/fragml-load -q --no-guard %s", bin, path));
	afd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_cprog_thp");
	ASSERT_LE(0, afd) TH_LOG("no compiled-program array for the policy's thp_fault callback");
	EXPECT_EQ(0, bpf_map_lookup_elem(afd, &key, &id)) TH_LOG("the thp_fault slot is empty");
	EXPECT_NE(0u, id);
	close(afd);
	sfd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_scratch");
	ASSERT_LE(0, sfd) TH_LOG("the policy's scratch is not pinned");

	r.len = 64UL << 20;
	r.raw = mmap(NULL, r.len + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.raw);
	r.p = (char *)(((unsigned long)r.raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	ASSERT_EQ(0, madvise(r.p, r.len, MADV_HUGEPAGE));
	for (size_t off = 0; off < r.len; off += HUGE_SZ) {
		struct fragml_eval_out out;
		struct fragml_cio *x = &c[cpu];

		/* no result on any CPU before this fault */
		memset(c, 0, ncpu * sizeof(*c));
		ASSERT_EQ(0, bpf_map_update_elem(sfd, &zero, c, BPF_ANY));
		r.p[off] = 1;
		faults++;
		ASSERT_EQ(0, bpf_map_lookup_elem(sfd, &zero, c));
		/* no compiled decision, or a later hook's vector before it (a
		 * compaction the fault asked for, with no model of its own) */
		if (!x->r.version || x->v.f[FRAGML_F_VMA_PAGES_LOG2] == FRAGML_MISSING)
			continue;
		compiled++;
		if (!version)
			version = x->r.version;
		EXPECT_EQ(version, x->r.version);
		fragml_model_eval(m, x->v.f, &out);
		if (out.action == x->r.action && out.score == x->r.score)
			agree++;
		else
			printf("# fault %u: compiled v%u action %u score %lld, reference action %u score %lld\n",
			       faults, x->r.version, x->r.action, (long long)x->r.score, out.action,
			       (long long)out.score);
	}
	printf("# %u huge-page faults on cpu %d: %u decided by the compiled v%u, %u equal to the reference\n",
	       faults, cpu, compiled, version, agree);
	EXPECT_GE(compiled * 4, faults * 3) TH_LOG("too few decisions came from the compiled program");
	EXPECT_EQ(compiled, agree);
	unmap_region(&r);
	close(sfd);
	free(c);
	free(m);
}

TEST_HARNESS_MAIN
