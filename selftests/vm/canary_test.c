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
 */
#define _GNU_SOURCE
#include <errno.h>
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
	{
		struct json_object *d;

		cell = json_object_object_get_ex(st, "canary", &d) &&
		       json_object_object_get_ex(d, "thp_fault", &d) &&
		       json_object_object_get_ex(d, "disagreements", &d) &&
		       json_object_object_get_ex(d, "default->decline", &d) ? json_object_get_int64(d) : -1;
	}
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

TEST_HARNESS_MAIN
