/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `fragml daemon`: the watchdog (not part of the library API).  Its config
 * file, the metrics it watches, and where it leaves its state.
 */
#ifndef FRAGML_DAEMON_H
#define FRAGML_DAEMON_H

#include <limits.h>
#include <stdbool.h>

#include "fragml_load.h"

#define FRAGML_WD_STATE_DIR	"/var/lib/fragml"	/* last-good/, bad-models */
#define FRAGML_WD_RUN_DIR	"/run/fragml"		/* watchdog.json */
#define FRAGML_WD_STATE_FILE	"watchdog.json"
#define FRAGML_WD_MAX_CGROUPS	FRAGML_SCOPE_MAX	/* [scope] becomes the policy's scope */

/* What the watchdog measures, per interval (docs/operator.md). */
enum fragml_wd_metric {
	FRAGML_WD_THP_MISS,		/* (fallback + declined) / THP fault attempts */
	FRAGML_WD_COMPACT_STALL,	/* compact_stall per second */
	FRAGML_WD_DIRECT_RECLAIM,	/* pgscan_direct per second */
	FRAGML_WD_ALLOC_STALL,		/* allocstall_* per second */
	FRAGML_WD_PSI_SOME,		/* PSI memory "some": % of the interval */
	FRAGML_WD_NR
};
extern const char *const fragml_wd_metric_names[FRAGML_WD_NR];
extern const char *const fragml_wd_metric_units[FRAGML_WD_NR];

struct fragml_wd_conf {
	char models[FRAGML_NR_HOOKS][PATH_MAX];	/* [models]: "" = none */
	char canary[FRAGML_NR_HOOKS][PATH_MAX];	/* [canary]: candidates */
	char cgroups[FRAGML_WD_MAX_CGROUPS][PATH_MAX];	/* [scope] cgroup = ... */
	int n_cgroups;
	double interval, baseline, good_after;	/* seconds */
	double worse_factor;			/* worse: > baseline * factor + slack */
	unsigned int consecutive;		/* worse intervals in a row that trip it */
	long min_thp_faults;			/* fewer attempts: thp_miss not judged */
	double max[FRAGML_WD_NR];		/* absolute limits, 0 = none */
	double slack[FRAGML_WD_NR];
	bool guard;
	char state_dir[PATH_MAX], run_dir[PATH_MAX];
};

/* Defaults (FRAGML_STATE_DIR and FRAGML_RUN_DIR override the directories). */
void fragml_wd_conf_defaults(struct fragml_wd_conf *c);
/* Parse a config file over the defaults; errors name file:line and the key. */
int fragml_wd_conf_parse(struct fragml_wd_conf *c, const char *path, struct fragml_err *err);

#endif /* FRAGML_DAEMON_H */
