// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VM selftests of the canary and the cgroup scope (bpf/fragml_policy.bpf.c,
 * "canary and scope"): run as root inside the patched kernel (make vmtest).
 *
 * Canary: the live thp_fault model answers "kernel default", the candidate
 * "decline".  Under huge-page faults the kernel must decline nothing while
 * fragml status counts every decision as a default->decline disagreement;
 * after `fragml load --promote thp_fault` the kernel declines.
 * Scope: with the decline model live and the scope set to one cgroup, a
 * faulter outside it gets huge pages, one inside gets none; --all-cgroups
 * puts everyone back under the model.
 * Daemon config: `fragml daemon` with [models], [canary] and [scope] sets the
 * same state as the load options: the decline model live for one cgroup
 * only, the "kernel default" candidate beside it.  A faulter outside the
 * scope runs through the daemon's watch without a trip; afterwards a task
 * outside is neither declined nor counted, one inside is declined and every
 * decision counted as decline->default.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"
#include "fragml_policy.h"
#include "vmlib.h"

#define NREGIONS	64	/* 2 MiB regions per faulting run: 64 THP fault attempts */
#define CG_IN		"/sys/fs/cgroup/fragml-in"
#define CD_CONF		"/tmp/cd.conf"
#define CD_LOG		"/tmp/cd.log"

/* Fault NREGIONS huge-page regions (one touch each) in a child, optionally
 * moved into cgroup `cg` first. */
static int fault_in_child(const char *cg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (cg && sh("echo %d > %s/cgroup.procs", getpid(), cg))
			_exit(2);
		_exit(thp_attempts(NREGIONS) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* fragml status --json, parsed (NULL on failure). */
static struct json_object *status_json(void)
{
	char cmd[512], *buf = malloc(1 << 20);
	struct json_object *o = NULL;
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s/fragml status --json", env_or("FRAGML_BIN", "build/bin"));
	p = popen(cmd, "r");
	if (p && buf) {
		n = fread(buf, 1, (1 << 20) - 1, p);
		buf[n] = '\0';
		o = json_tokener_parse(buf);
	}
	if (p)
		pclose(p);
	free(buf);
	return o;
}

static long long jget(struct json_object *o, const char *a, const char *b, const char *c)
{
	struct json_object *x = o;

	if (!json_object_object_get_ex(x, a, &x) || !json_object_object_get_ex(x, b, &x))
		return -1;
	if (c && !json_object_object_get_ex(x, c, &x))
		return -1;
	return json_object_get_int64(x);
}

/* canary.<hook>.disagreements.<cell> of fragml status --json, -1 when absent. */
static long long jcell(struct json_object *o, const char *hook, const char *cell)
{
	struct json_object *x = o;

	return json_object_object_get_ex(x, "canary", &x) && json_object_object_get_ex(x, hook, &x) &&
	       json_object_object_get_ex(x, "disagreements", &x) &&
	       json_object_object_get_ex(x, cell, &x) ? json_object_get_int64(x) : -1;
}

/* canary.<hook>.disagree of fragml status --json, -1 when absent. */
static long long canary_disagree(const char *hook)
{
	struct json_object *st = status_json();
	long long v = st ? jget(st, "canary", hook, "disagree") : -1;

	json_object_put(st);
	return v;
}

/* THP faults the kernel declined for a fault_in_child(cg) run, -1 on failure. */
static long declined_in_child(const char *cg)
{
	long d0 = vmstat("thp_fault_declined");

	return fault_in_child(cg) ? -1 : vmstat("thp_fault_declined") - d0;
}

FIXTURE(canary) {};

FIXTURE_SETUP(canary)
{
	struct fragml_err err = {};

	if (fragml_policy_supported(&err) != 1)
		SKIP(return, "kernel has no %s: boot the patched kernel", FRAGML_POLICY_KTYPE);
	reset_fragml();
	ASSERT_EQ(0, sh("%s/fragml-mkmodel --hook thp_fault --const decline -o /tmp/c-decline.bin >/dev/null",
			env_or("FRAGML_BIN", "build/bin")));
}

FIXTURE_TEARDOWN(canary)
{
	sh("%s/fragml-load -q --all-cgroups 2>/dev/null", env_or("FRAGML_BIN", "build/bin"));
	reset_fragml();
	rmdir(CG_IN);
}

/* The candidate declines, the live model does not: counted, not enforced. */
TEST_F_TIMEOUT(canary, counted_not_enforced_then_promoted, 300)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	long dec0, def0, dec1, def1, def2;
	struct json_object *st;
	long long agree, disagree, cell;

	ASSERT_EQ(0, publish_const("thp_fault", "default"));
	ASSERT_TRUE(policy_is(FRAGML_POLICY_MODELS));
	ASSERT_EQ(0, sh("%s/fragml-load --no-guard --canary /tmp/c-decline.bin", bin));
	dec0 = vmstat("thp_fault_declined");
	def0 = vmstat("thp_fault_policy_default");
	ASSERT_EQ(0, fault_in_child(NULL));
	dec1 = vmstat("thp_fault_declined");
	def1 = vmstat("thp_fault_policy_default");
	st = status_json();
	ASSERT_NE(NULL, st);
	agree = jget(st, "canary", "thp_fault", "agree");
	disagree = jget(st, "canary", "thp_fault", "disagree");
	cell = jcell(st, "thp_fault", "default->decline");
	json_object_put(st);
	/* fragml status itself may fault a huge page: counted by both sides */
	def2 = vmstat("thp_fault_policy_default");
	printf("# canary: kernel declined %ld, default %ld (%ld with fragml status); status agree %lld disagree %lld (default->decline %lld)\n",
	       dec1 - dec0, def1 - def0, def2 - def0, agree, disagree, cell);
	sh("%s/fragml status | grep '^canary' | sed 's/^/# /'", bin);
	EXPECT_EQ(0, dec1 - dec0) TH_LOG("the candidate's decline was enforced");
	EXPECT_GE(def1 - def0, NREGIONS);
	EXPECT_EQ(0, agree);
	EXPECT_GE(disagree, def1 - def0) TH_LOG("every decision should disagree, once");
	EXPECT_LE(disagree, def2 - def0) TH_LOG("every decision should disagree, once");
	EXPECT_EQ(cell, disagree);

	ASSERT_EQ(0, sh("%s/fragml-load --promote thp_fault", bin));
	EXPECT_EQ(0, sh("%s/fragml status | grep -A1 '^thp_fault' | grep -q \"$(sha256sum /tmp/c-decline.bin | cut -c1-64)\"",
			bin)) TH_LOG("the promoted model is not the live one");
	dec0 = vmstat("thp_fault_declined");
	ASSERT_EQ(0, fault_in_child(NULL));
	EXPECT_GE(vmstat("thp_fault_declined") - dec0, NREGIONS) TH_LOG("promoted model not enforced");
	st = status_json();
	ASSERT_NE(NULL, st);
	EXPECT_NE(1, jget(st, "canary", "thp_fault", "loaded")) TH_LOG("the candidate is still there after the promotion");
	json_object_put(st);
}

/* Decline live, scoped to one cgroup: only tasks in it are declined. */
TEST_F_TIMEOUT(canary, scope_to_cgroup, 300)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	long d0, out_dec, in_dec, all_dec;

	if (mkdir(CG_IN, 0755) && errno != EEXIST)
		SKIP(return, "cannot create %s: %s", CG_IN, strerror(errno));
	ASSERT_EQ(0, publish_const("thp_fault", "decline"));
	ASSERT_EQ(0, sh("%s/fragml-load --cgroup " CG_IN, bin));
	sh("%s/fragml status | grep '^scope' | sed 's/^/# /'", bin);
	EXPECT_EQ(0, sh("%s/fragml status | grep -q '^scope: only cgroup id [0-9]* (" CG_IN ")'", bin));

	d0 = vmstat("thp_fault_declined");
	ASSERT_EQ(0, fault_in_child(NULL));
	out_dec = vmstat("thp_fault_declined") - d0;
	d0 = vmstat("thp_fault_declined");
	ASSERT_EQ(0, fault_in_child(CG_IN));
	in_dec = vmstat("thp_fault_declined") - d0;
	ASSERT_EQ(0, sh("%s/fragml-load --all-cgroups", bin));
	d0 = vmstat("thp_fault_declined");
	ASSERT_EQ(0, fault_in_child(NULL));
	all_dec = vmstat("thp_fault_declined") - d0;
	printf("# declined: outside the scope %ld, inside %ld, outside after --all-cgroups %ld (of %d)\n",
	       out_dec, in_dec, all_dec, NREGIONS);
	EXPECT_EQ(0, out_dec) TH_LOG("a task outside the scope was declined");
	EXPECT_GE(in_dec, NREGIONS);
	EXPECT_GE(all_dec, NREGIONS);
}

/* The daemon's [models], [canary] and [scope]: decline live for CG_IN only,
 * the kernel-default candidate counted beside it. */
TEST_F_TIMEOUT(canary, daemon_config, 300)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	long d0, run_dec, out_dec, in_dec;
	long long dis0, dis1, dis2, cell;
	struct json_object *st;
	FILE *f;
	pid_t w;
	int rc;

	if (mkdir(CG_IN, 0755) && errno != EEXIST)
		SKIP(return, "cannot create %s: %s", CG_IN, strerror(errno));
	ASSERT_EQ(0, sh("%s/fragml-mkmodel --hook thp_fault --const default -o /tmp/c-default.bin >/dev/null", bin));
	f = fopen(CD_CONF, "w");
	ASSERT_NE(NULL, f);
	/* thp_miss only, as watchdog_test.c: TCG stalls come in bursts */
	fprintf(f, "[models]\nthp_fault = /tmp/c-decline.bin\n[canary]\nthp_fault = /tmp/c-default.bin\n"
		"[scope]\ncgroup = " CG_IN "\n"
		"[watchdog]\ninterval = 1\nbaseline = 2\nconsecutive = 2\ngood_after = 3600\n"
		"min_thp_faults = 20\nslack_thp_miss = 0.2\nslack_compact_stall = 1e6\n"
		"slack_direct_reclaim = 1e9\nslack_alloc_stall = 1e6\nslack_psi_some = 100\n"
		"[daemon]\nguard = no\nstate_dir = /tmp/cd-state\nrun_dir = /tmp/cd-run\n");
	ASSERT_EQ(0, fclose(f));

	/* a faulter outside the scope: the decline model must not reach it */
	d0 = vmstat("thp_fault_declined");
	w = thp_faulter(32);
	ASSERT_GT(w, 0);
	rc = sh("%s/fragml daemon --config " CD_CONF " --once --intervals 4 --verbose 2>" CD_LOG, bin);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	run_dec = vmstat("thp_fault_declined") - d0;
	sh("sed 's/^/#   /' " CD_LOG);
	ASSERT_EQ(0, rc) TH_LOG("the daemon tripped or failed: the scope did not keep the faulter out");
	ASSERT_TRUE(policy_is(FRAGML_POLICY_MODELS));
	EXPECT_EQ(0, sh("grep -q \"canary thp_fault: sha256 $(sha256sum /tmp/c-default.bin | cut -c1-64)\" " CD_LOG));
	EXPECT_EQ(0, sh("grep -q 'scope: the models decide for 1 cgroup' " CD_LOG));
	sh("%s/fragml status | grep '^scope\\|^canary' | sed 's/^/# /'", bin);
	EXPECT_EQ(0, sh("%s/fragml status | grep -q '^scope: only cgroup id [0-9]* (" CG_IN ")'", bin));

	dis0 = canary_disagree("thp_fault");
	out_dec = declined_in_child(NULL);
	dis1 = canary_disagree("thp_fault");
	in_dec = declined_in_child(CG_IN);
	ASSERT_LE(0, out_dec);
	ASSERT_LE(0, in_dec);
	st = status_json();
	ASSERT_NE(NULL, st);
	EXPECT_EQ(1, jget(st, "canary", "thp_fault", "loaded"));
	dis2 = jget(st, "canary", "thp_fault", "disagree");
	cell = jcell(st, "thp_fault", "decline->default");
	EXPECT_EQ(0, jget(st, "canary", "thp_fault", "agree"));
	json_object_put(st);
	printf("# daemon config: declined during the daemon's run (faulter outside) %ld; after it: outside %ld, inside %ld (of %d); canary disagree %lld -> %lld (outside) -> %lld (inside), decline->default %lld\n",
	       run_dec, out_dec, in_dec, NREGIONS, dis0, dis1, dis2, cell);
	EXPECT_EQ(0, run_dec) TH_LOG("a task outside the scope was declined while the daemon started (scope set after the model?)");
	EXPECT_EQ(0, out_dec) TH_LOG("a task outside the daemon's scope was declined");
	EXPECT_EQ(dis0, dis1) TH_LOG("a decision outside the scope was counted by the canary");
	EXPECT_GE(in_dec, NREGIONS) TH_LOG("the live decline model was not enforced inside the scope");
	EXPECT_EQ(dis2 - dis1, in_dec) TH_LOG("a decision inside the scope was not counted by the canary");
	EXPECT_EQ(cell, dis2);
}

TEST_HARNESS_MAIN
