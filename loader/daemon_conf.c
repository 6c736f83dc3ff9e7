// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The daemon's configuration file (docs/operator.md, "The daemon"):
 * INI-like, `[section]` lines and `key = value` lines, `#` comments.
 * Every error names the file, the line and the key.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_daemon.h"

const char *const fragml_wd_metric_names[FRAGML_WD_NR] = {
	"thp_miss", "compact_stall", "direct_reclaim", "alloc_stall", "psi_some",
};

const char *const fragml_wd_metric_units[FRAGML_WD_NR] = {
	"fraction", "/s", "pages/s", "/s", "%",
};

void fragml_wd_conf_defaults(struct fragml_wd_conf *c)
{
	const char *e;

	memset(c, 0, sizeof(*c));
	c->interval = 10;
	c->baseline = 60;
	c->consecutive = 3;
	c->good_after = 600;
	c->worse_factor = 2.0;
	c->min_thp_faults = 20;
	c->guard = true;
	/* what a policy may add to the baseline before an interval counts as worse */
	c->slack[FRAGML_WD_THP_MISS] = 0.10;
	c->slack[FRAGML_WD_COMPACT_STALL] = 1;
	c->slack[FRAGML_WD_DIRECT_RECLAIM] = 1000;
	c->slack[FRAGML_WD_ALLOC_STALL] = 1;
	c->slack[FRAGML_WD_PSI_SOME] = 5;
	e = getenv("FRAGML_STATE_DIR");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", e && *e ? e : FRAGML_WD_STATE_DIR);
	e = getenv("FRAGML_RUN_DIR");
	snprintf(c->run_dir, sizeof(c->run_dir), "%s", e && *e ? e : FRAGML_WD_RUN_DIR);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_num(const char *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *trim(end) || !isfinite(d) || d < lo || d > hi)
		return -1;
	*out = d;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int set_path(char *dst, size_t cap, const char *v)
{
	if (v[0] != '/' || strlen(v) >= cap)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

enum { S_NONE, S_MODELS, S_CANARY, S_WATCHDOG, S_SCOPE, S_DAEMON };

static int watchdog_key(struct fragml_wd_conf *c, const char *k, const char *v, const char **want)
{
	double d;

	for (int i = 0; i < FRAGML_WD_NR; i++) {
		if (!strncmp(k, "max_", 4) && !strcmp(k + 4, fragml_wd_metric_names[i])) {
			*want = "a number >= 0 (0: no absolute limit)";
			return parse_num(v, 0, 1e12, &c->max[i]);
		}
		if (!strncmp(k, "slack_", 6) && !strcmp(k + 6, fragml_wd_metric_names[i])) {
			*want = "a number >= 0";
			return parse_num(v, 0, 1e12, &c->slack[i]);
		}
	}
	if (!strcmp(k, "interval")) {
		*want = "seconds, 0.2..3600";
		return parse_num(v, 0.2, 3600, &c->interval);
	}
	if (!strcmp(k, "baseline")) {
		*want = "seconds, 0.2..86400";
		return parse_num(v, 0.2, 86400, &c->baseline);
	}
	if (!strcmp(k, "good_after")) {
		*want = "seconds, 0..31536000";
		return parse_num(v, 0, 31536000, &c->good_after);
	}
	if (!strcmp(k, "worse_factor")) {
		*want = "a factor, 1..1000";
		return parse_num(v, 1, 1000, &c->worse_factor);
	}
	if (!strcmp(k, "consecutive")) {
		*want = "intervals, 1..1000";
		if (parse_num(v, 1, 1000, &d) || d != (unsigned int)d)
			return -1;
		c->consecutive = (unsigned int)d;
		return 0;
	}
	if (!strcmp(k, "min_thp_faults")) {
		*want = "faults per interval, 0..1e9";
		if (parse_num(v, 0, 1e9, &d) || d != (long)d)
			return -1;
		c->min_thp_faults = (long)d;
		return 0;
	}
	*want = NULL;
	return -1;
}

int fragml_wd_conf_parse(struct fragml_wd_conf *c, const char *path, struct fragml_err *err)
{
	static const char *const sections[] = {
		[S_MODELS] = "models", [S_CANARY] = "canary", [S_WATCHDOG] = "watchdog",
		[S_SCOPE] = "scope", [S_DAEMON] = "daemon",
	};
	char line[PATH_MAX + 128];
	unsigned int lineno = 0;
	int sect = S_NONE, ret = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return fragml_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const char *want = NULL;
		char *s, *eq, *k, *v;
		int hook, bad = 0;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			ret = fragml_err_set(err, -E2BIG, "%s:%u: line longer than %zu bytes", path, lineno,
					     sizeof(line) - 2);
			break;
		}
		s = strchr(line, '#');
		if (s)
			*s = '\0';
		s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');

			sect = S_NONE;
			if (e && !*trim(e + 1)) {
				*e = '\0';
				for (int i = S_MODELS; i <= S_DAEMON; i++)
					if (!strcmp(trim(s + 1), sections[i]))
						sect = i;
			}
			if (sect == S_NONE) {
				ret = fragml_err_set(err, -EINVAL, "%s:%u: unknown section '%s' (models, canary, watchdog, scope, daemon)",
						     path, lineno, s);
				break;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			ret = fragml_err_set(err, -EINVAL, "%s:%u: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		switch (sect) {
		case S_MODELS:
		case S_CANARY:
			hook = fragml_hook_from_name(k);
			want = "an absolute path of a model.bin";
			if (hook < 0) {
				ret = fragml_err_set(err, -EINVAL, "%s:%u: [%s] %s: unknown hook (" FRAGML_HOOK_LIST ")",
						     path, lineno, sections[sect], k);
				goto out;
			}
			bad = set_path(sect == S_MODELS ? c->models[hook] : c->canary[hook],
				       sizeof(c->models[hook]), v);
			break;
		case S_WATCHDOG:
			bad = watchdog_key(c, k, v, &want);
			if (bad && !want) {
				ret = fragml_err_set(err, -EINVAL, "%s:%u: [watchdog] %s: unknown key (interval, baseline, consecutive, good_after, worse_factor, min_thp_faults, max_<metric>, slack_<metric>; metrics: thp_miss, compact_stall, direct_reclaim, alloc_stall, psi_some)",
						     path, lineno, k);
				goto out;
			}
			break;
		case S_SCOPE:
			if (strcmp(k, "cgroup")) {
				ret = fragml_err_set(err, -EINVAL, "%s:%u: [scope] %s: unknown key (cgroup)", path, lineno, k);
				goto out;
			}
			if (c->n_cgroups >= FRAGML_WD_MAX_CGROUPS) {
				ret = fragml_err_set(err, -E2BIG, "%s:%u: [scope] cgroup: more than %d cgroups",
						     path, lineno, FRAGML_WD_MAX_CGROUPS);
				goto out;
			}
			want = "an absolute cgroup v2 directory, e.g. /sys/fs/cgroup/batch.slice";
			bad = set_path(c->cgroups[c->n_cgroups], sizeof(c->cgroups[0]), v);
			if (!bad)
				c->n_cgroups++;
			break;
		case S_DAEMON:
			if (!strcmp(k, "guard")) {
				want = "yes or no";
				bad = parse_bool(v, &c->guard);
			} else if (!strcmp(k, "state_dir")) {
				want = "an absolute directory";
				bad = set_path(c->state_dir, sizeof(c->state_dir), v);
			} else if (!strcmp(k, "run_dir")) {
				want = "an absolute directory";
				bad = set_path(c->run_dir, sizeof(c->run_dir), v);
			} else {
				ret = fragml_err_set(err, -EINVAL, "%s:%u: [daemon] %s: unknown key (guard, state_dir, run_dir)",
						     path, lineno, k);
				goto out;
			}
			break;
		default:
			ret = fragml_err_set(err, -EINVAL, "%s:%u: %s: key outside a section ([models], [canary], [watchdog], [scope], [daemon])",
					     path, lineno, k);
			goto out;
		}
		if (bad) {
			ret = fragml_err_set(err, -EINVAL, "%s:%u: [%s] %s = '%s': want %s", path, lineno,
					     sections[sect], k, v, want);
			break;
		}
	}
out:
	fclose(f);
	return ret;
}
