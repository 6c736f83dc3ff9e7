// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VM selftests of the watchdog (`fragml daemon`, loader/daemon.c): run as
 * root inside the patched kernel (make vmtest), THP `always`.
 *
 * A child faults huge-page regions without pause (one touch per 2 MiB, so
 * every touch is a THP fault attempt).  The daemon measures its baseline
 * under the kernel default, publishes the configured thp_fault model and
 * watches.  A model that declines every huge page turns nearly every
 * attempt into a miss: the watchdog must detach the policy, say why in
 * fragml status, and list the model as bad.  A model that answers "kernel
 * default" must not trip it, and after good_after it is the last good model
 * a restarted daemon loads instead of the bad one.
 *
 * The test config judges THP misses only (wide slack on the other metrics):
 * under TCG compaction stalls and reclaim come in bursts that are not the
 * model's doing.
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

#include "kselftest_harness.h"
#include "fragml_policy.h"
#include "vmlib.h"

#define WD_RUN		"/tmp/wd-run"
#define WD_STATE	"/tmp/wd-state"
#define WD_CONF		"/tmp/wd.conf"
#define WD_LOG		"/tmp/wd.log"

static void stop_child(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Config: the thp_fault model `model`, 1 s intervals, 2 in a row trip it. */
static int write_conf(const char *model, double good_after)
{
	FILE *f = fopen(WD_CONF, "w");

	if (!f)
		return -1;
	fprintf(f, "# watchdog_test\n[models]\n");
	if (model)
		fprintf(f, "thp_fault = %s\n", model);
	fprintf(f, "[watchdog]\ninterval = 1\nbaseline = 2\nconsecutive = 2\n"
		"good_after = %g\nmin_thp_faults = 20\nslack_thp_miss = 0.2\n"
		"slack_compact_stall = 1e6\nslack_direct_reclaim = 1e9\n"
		"slack_alloc_stall = 1e6\nslack_psi_some = 100\n"
		"[daemon]\nguard = no\nstate_dir = " WD_STATE "\nrun_dir = " WD_RUN "\n",
		good_after);
	return fclose(f);
}

/* Run the daemon once under the faulter; its exit status, its log in WD_LOG. */
static int run_daemon(int intervals)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");
	pid_t w = thp_faulter(32);	/* 64 MiB per round */
	int rc;

	rc = sh("%s/fragml daemon --config " WD_CONF " --once --intervals %d --verbose 2>" WD_LOG,
		bin, intervals);
	stop_child(w);
	sh("sed 's/^/#   /' " WD_LOG);
	return rc;
}

static int mk(const char *hook, const char *action, const char *out)
{
	return sh("%s/fragml-mkmodel --hook %s --const %s -o %s >/dev/null",
		  env_or("FRAGML_BIN", "build/bin"), hook, action, out);
}

FIXTURE(wd) {};

FIXTURE_SETUP(wd)
{
	struct fragml_err err = {};

	if (fragml_policy_supported(&err) != 1)
		SKIP(return, "kernel has no %s: boot the patched kernel", FRAGML_POLICY_KTYPE);
	reset_fragml();
	sh("rm -rf " WD_RUN " " WD_STATE);
	ASSERT_EQ(0, mk("thp_fault", "decline", "/tmp/wd-bad.bin"));
	ASSERT_EQ(0, mk("thp_fault", "default", "/tmp/wd-good.bin"));
}

FIXTURE_TEARDOWN(wd)
{
	reset_fragml();
}

/* Declining every huge page: tripped, detached, shown, listed as bad. */
TEST_F_TIMEOUT(wd, bad_model_trips, 300)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");

	ASSERT_EQ(0, write_conf("/tmp/wd-bad.bin", 3600));
	ASSERT_EQ(3, run_daemon(8)) TH_LOG("the watchdog did not trip on the decline model");
	EXPECT_FALSE(policy_is(FRAGML_POLICY_MODELS)) TH_LOG("policy still attached after the trip");
	EXPECT_EQ(0, sh("grep -q 'detached the policy: thp_miss' " WD_LOG));
	EXPECT_EQ(0, sh("FRAGML_RUN_DIR=" WD_RUN " %s/fragml status | grep 'detached by watchdog: thp_miss'",
			bin));
	EXPECT_EQ(0, sh("FRAGML_RUN_DIR=" WD_RUN " %s/fragml status --json | grep -q '\"state\": *\"detached\"'",
			bin));
	EXPECT_EQ(0, sh("grep -q \"$(sha256sum /tmp/wd-bad.bin | cut -c1-64)\" " WD_STATE "/bad-models"));
}

/* Kernel default answers: no trip, the policy stays, last good recorded;
 * then the bad model trips it, and a restart loads the last good one. */
TEST_F_TIMEOUT(wd, good_model_kept_and_restored, 600)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");

	ASSERT_EQ(0, write_conf("/tmp/wd-good.bin", 2));
	ASSERT_EQ(0, run_daemon(6)) TH_LOG("the watchdog tripped on the kernel-default model");
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS)) TH_LOG("policy not attached after a clean run");
	EXPECT_NE(0, sh("FRAGML_RUN_DIR=" WD_RUN " %s/fragml status | grep -q 'detached by watchdog'", bin));
	ASSERT_EQ(0, sh("cmp -s /tmp/wd-good.bin " WD_STATE "/last-good/thp_fault.bin"))
		TH_LOG("the good model was not recorded as last good");

	ASSERT_EQ(0, write_conf("/tmp/wd-bad.bin", 3600));
	ASSERT_EQ(3, run_daemon(8));
	/* restart with the same config: the bad model is skipped */
	ASSERT_EQ(0, run_daemon(4)) TH_LOG("restarted daemon tripped again");
	EXPECT_EQ(0, sh("grep -q 'once tripped the watchdog' " WD_LOG));
	EXPECT_EQ(0, sh("grep -q 'last good' " WD_LOG));
	EXPECT_EQ(0, sh("%s/fragml status | grep -A1 '^thp_fault' | grep -q \"$(sha256sum /tmp/wd-good.bin | cut -c1-64)\"",
			bin)) TH_LOG("the last good model is not the live one");
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS));
}

TEST_HARNESS_MAIN
