// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fragml daemon`: the watchdog.  It measures a baseline under the kernel
 * default (THP misses, compaction stalls, direct reclaim, allocation stalls
 * from /proc/vmstat, PSI memory), publishes the configured models (which
 * attaches the enforcing policy), then compares every interval against its
 * limits and the baseline.  After `consecutive` worse intervals it detaches
 * the policy (the kernel default decides again), records why in
 * <run_dir>/watchdog.json (`fragml status` shows it) and the models'
 * SHA-256 in <state_dir>/bad-models.  Models that ran `good_after` seconds
 * without tripping it are copied to <state_dir>/last-good/ and loaded at the
 * next start.  One log line per event on stderr (the journal under systemd).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "canary.h"
#include "fragml_cli.h"
#include "fragml_daemon.h"
#include "fragml_policy.h"
#include "mono_ns.h"

static const char *prog = "fragml daemon";
static volatile sig_atomic_t stop_sig;
static bool verbose;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void iso_time(char *buf, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Sleep until `until` (monotonic) unless a signal stops us; false if stopped. */
static bool sleep_until(double until)
{
	while (!stop_sig) {
		double left = until - loader_mono_s();
		struct timespec ts;

		if (left <= 0)
			return true;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return false;
}

/* ---- measurements ---- */

struct sample {
	double t;
	long long thp_alloc, thp_fallback, thp_declined, compact_stall, pgscan_direct, allocstall;
	long long psi_some_us;	/* -1: no PSI */
};

static int take_sample(struct sample *s)
{
	char key[64], line[256];
	long long v;
	FILE *f = fopen("/proc/vmstat", "r");

	memset(s, 0, sizeof(*s));
	s->t = loader_mono_s();
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (!strcmp(key, "thp_fault_alloc"))
			s->thp_alloc = v;
		else if (!strcmp(key, "thp_fault_fallback"))
			s->thp_fallback = v;
		else if (!strcmp(key, "thp_fault_declined"))	/* patched kernel */
			s->thp_declined = v;
		else if (!strcmp(key, "compact_stall"))
			s->compact_stall = v;
		else if (!strcmp(key, "pgscan_direct"))
			s->pgscan_direct = v;
		else if (!strncmp(key, "allocstall_", 11))
			s->allocstall += v;
	}
	fclose(f);
	s->psi_some_us = -1;
	f = fopen("/proc/pressure/memory", "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *tot = strstr(line, "total=");

		if (!strncmp(line, "some ", 5) && tot)
			s->psi_some_us = strtoll(tot + 6, NULL, 10);
	}
	if (f)
		fclose(f);
	return 0;
}

/* Metrics over [a, b]; NAN where there is nothing to judge. */
static void metrics(const struct sample *a, const struct sample *b, long min_thp, double m[FRAGML_WD_NR])
{
	double dt = b->t - a->t;
	long long miss = (b->thp_fallback - a->thp_fallback) + (b->thp_declined - a->thp_declined);
	long long tries = miss + (b->thp_alloc - a->thp_alloc);

	if (dt <= 0)
		dt = 1e-9;
	m[FRAGML_WD_THP_MISS] = tries > 0 && tries >= min_thp ? (double)miss / tries : NAN;
	m[FRAGML_WD_COMPACT_STALL] = (b->compact_stall - a->compact_stall) / dt;
	m[FRAGML_WD_DIRECT_RECLAIM] = (b->pgscan_direct - a->pgscan_direct) / dt;
	m[FRAGML_WD_ALLOC_STALL] = (b->allocstall - a->allocstall) / dt;
	m[FRAGML_WD_PSI_SOME] = a->psi_some_us < 0 || b->psi_some_us < 0 ? NAN :
				(b->psi_some_us - a->psi_some_us) / (dt * 1e4);
}

static void fmt_metrics(char *buf, size_t cap, const double m[FRAGML_WD_NR])
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < FRAGML_WD_NR && n < cap; i++) {
		if (isnan(m[i]))	/* too few faults to judge, or no PSI */
			n += snprintf(buf + n, cap - n, "%s%s=n/a", i ? " " : "", fragml_wd_metric_names[i]);
		else
			n += snprintf(buf + n, cap - n, "%s%s=%.3g", i ? " " : "", fragml_wd_metric_names[i], m[i]);
	}
}

/* Is this interval worse?  reason gets the first metric that is. */
static bool judge(const struct fragml_wd_conf *c, const double base[FRAGML_WD_NR],
		  const double m[FRAGML_WD_NR], char *reason, size_t cap)
{
	for (int i = 0; i < FRAGML_WD_NR; i++) {
		double bound;

		if (isnan(m[i]))
			continue;
		if (c->max[i] > 0 && m[i] > c->max[i]) {
			snprintf(reason, cap, "%s %.3g %s > limit %.3g", fragml_wd_metric_names[i], m[i],
				 fragml_wd_metric_units[i], c->max[i]);
			return true;
		}
		if (isnan(base[i]))
			continue;
		bound = base[i] * c->worse_factor + c->slack[i];
		if (m[i] > bound) {
			snprintf(reason, cap, "%s %.3g %s > baseline %.3g x %.3g + %.3g", fragml_wd_metric_names[i],
				 m[i], fragml_wd_metric_units[i], base[i], c->worse_factor, c->slack[i]);
			return true;
		}
	}
	return false;
}

static struct json_object *metrics_json(const double m[FRAGML_WD_NR])
{
	struct json_object *o = json_object_new_object();

	for (int i = 0; i < FRAGML_WD_NR; i++)
		json_object_object_add(o, fragml_wd_metric_names[i],
				       isnan(m[i]) ? NULL : json_object_new_double(m[i]));
	return o;
}

/* ---- state: <run_dir>/watchdog.json, <state_dir>/{bad-models,last-good/} ---- */

struct wd_state {
	const struct fragml_wd_conf *conf;
	const char *state;			/* baseline, watching, detached, stopped */
	char reason[512];
	time_t since, at;
	bool have_base, have_last;
	double base[FRAGML_WD_NR], last[FRAGML_WD_NR];
	unsigned int worse_run, intervals;
	char sha[FRAGML_NR_HOOKS][FRAGML_SHA256_HEX];	/* the models it watches */
	bool good_recorded;
};

static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static void write_state(const struct wd_state *s)
{
	struct json_object *o = json_object_new_object(), *h = json_object_new_object();
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40], t[32];
	const char *txt;
	int fd;

	json_object_object_add(o, "state", json_object_new_string(s->state));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	iso_time(t, sizeof(t), s->since);
	json_object_object_add(o, "since", json_object_new_string(t));
	if (s->reason[0]) {
		json_object_object_add(o, "reason", json_object_new_string(s->reason));
		iso_time(t, sizeof(t), s->at);
		json_object_object_add(o, "at", json_object_new_string(t));
	}
	json_object_object_add(o, "interval_s", json_object_new_double(s->conf->interval));
	json_object_object_add(o, "intervals", json_object_new_int((int)s->intervals));
	json_object_object_add(o, "worse_in_a_row", json_object_new_int((int)s->worse_run));
	json_object_object_add(o, "consecutive", json_object_new_int((int)s->conf->consecutive));
	if (s->have_base)
		json_object_object_add(o, "baseline", metrics_json(s->base));
	if (s->have_last)
		json_object_object_add(o, "last", metrics_json(s->last));
	for (unsigned int k = 0; k < FRAGML_NR_HOOKS; k++)
		if (s->sha[k][0])
			json_object_object_add(h, fragml_hook_name(k), json_object_new_string(s->sha[k]));
	json_object_object_add(o, "models", h);
	json_object_object_add(o, "last_good_recorded", json_object_new_boolean(s->good_recorded));
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (mkdir_p(s->conf->run_dir, 0700))
		goto out;
	snprintf(path, sizeof(path), "%s/%s", s->conf->run_dir, FRAGML_WD_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		logf_("%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	if (write(fd, txt, strlen(txt)) != (ssize_t)strlen(txt) || write(fd, "\n", 1) != 1 ||
	    close(fd) || rename(tmp, path))
		logf_("%s: cannot write: %s", path, strerror(errno));
out:
	json_object_put(o);
}

static bool sha_is_bad(const struct fragml_wd_conf *c, const char *sha)
{
	char path[PATH_MAX + 16], line[160];
	bool bad = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bad-models", c->state_dir);
	f = fopen(path, "r");
	while (f && !bad && fgets(line, sizeof(line), f))
		bad = strstr(line, sha) != NULL;
	if (f)
		fclose(f);
	return bad;
}

static void record_bad(const struct wd_state *s)
{
	char path[PATH_MAX + 16], t[32];
	FILE *f;

	if (mkdir_p(s->conf->state_dir, 0700))
		return;
	snprintf(path, sizeof(path), "%s/bad-models", s->conf->state_dir);
	f = fopen(path, "a");
	if (!f) {
		logf_("%s: cannot append: %s", path, strerror(errno));
		return;
	}
	iso_time(t, sizeof(t), s->at);
	for (unsigned int k = 0; k < FRAGML_NR_HOOKS; k++)
		if (s->sha[k][0])
			fprintf(f, "%s %s %s %s\n", t, fragml_hook_name(k), s->sha[k], s->reason);
	fclose(f);
}

/* Copy the live models to <state_dir>/last-good/<hook>.bin. */
static void record_good(struct fragml_handle *h, struct wd_state *s)
{
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	char dir[PATH_MAX + 16], path[PATH_MAX + 48];

	snprintf(dir, sizeof(dir), "%s/last-good", s->conf->state_dir);
	if (!m || mkdir_p(dir, 0700)) {
		logf_("%s: cannot create", dir);
		free(m);
		return;
	}
	for (unsigned int k = 0; k < FRAGML_NR_HOOKS; k++) {
		if (!s->sha[k][0])
			continue;
		snprintf(path, sizeof(path), "%s/%s.bin", dir, fragml_hook_name(k));
		if (fragml_live_model(h, k, m, NULL, &err) || fragml_model_write_file(m, path, &err))
			logf_("last good %s: %s", fragml_hook_name(k), fragml_err_msg(&err));
		else
			logf_("last good %s: sha256 %s recorded in %s (loaded at the next start)",
			      fragml_hook_name(k), s->sha[k], path);
	}
	s->good_recorded = true;
	free(m);
}

/* ---- start: which models, baseline, publish ---- */

/* The model for each hook: the configured one unless the watchdog once
 * tripped on it (then the last good one), else the last good one. */
static int choose_models(const struct fragml_wd_conf *c, struct fragml_model *m[FRAGML_NR_HOOKS],
			 char sha[FRAGML_NR_HOOKS][FRAGML_SHA256_HEX])
{
	struct fragml_err err = { 0 };

	for (unsigned int k = 0; k < FRAGML_NR_HOOKS; k++) {
		char good[PATH_MAX + 48];
		const char *path = c->models[k][0] ? c->models[k] : NULL;

		snprintf(good, sizeof(good), "%s/last-good/%s.bin", c->state_dir, fragml_hook_name(k));
		m[k] = NULL;
		sha[k][0] = '\0';
		for (int pass = 0; pass < 2; pass++) {
			const char *p = pass ? (access(good, R_OK) ? NULL : good) : path;

			if (!p)
				continue;
			m[k] = malloc(sizeof(*m[k]));
			if (!m[k])
				return -ENOMEM;
			if (fragml_model_read_file(m[k], p, &err) || fragml_model_sha256(m[k], sha[k], &err)) {
				logf_("%s", fragml_err_msg(&err));
				return -EINVAL;
			}
			if ((unsigned int)m[k]->hook != k) {
				logf_("%s: a %s model, configured for %s", p, fragml_hook_name(m[k]->hook),
				      fragml_hook_name(k));
				return -EINVAL;
			}
			if (!pass && sha_is_bad(c, sha[k])) {
				logf_("%s: sha256 %s once tripped the watchdog (%s/bad-models): %s",
				      p, sha[k], c->state_dir, access(good, R_OK) ? "not loaded" : "loading the last good model instead");
				free(m[k]);
				m[k] = NULL;
				sha[k][0] = '\0';
				continue;
			}
			logf_("%s: %s model sha256 %s%s", fragml_hook_name(k), p, sha[k],
			      pass ? " (last good)" : "");
			break;
		}
	}
	return 0;
}

static int publish_models(struct fragml_handle *h, struct fragml_model *m[FRAGML_NR_HOOKS],
			  char sha[FRAGML_NR_HOOKS][FRAGML_SHA256_HEX])
{
	struct fragml_err err = { 0 };

	for (unsigned int k = 0; k < FRAGML_NR_HOOKS; k++) {
		struct fragml_hook_status st;
		uint32_t version;

		if (!m[k])
			continue;
		if (fragml_status(h, k, &st, &err) == 0 && st.loaded && !strcmp(st.sha256, sha[k])) {
			logf_("%s: sha256 %s already live (v%u)", fragml_hook_name(k), sha[k], st.version);
			continue;
		}
		if (fragml_publish(h, m[k], &version, &err)) {
			logf_("%s", fragml_err_msg(&err));
			return -EIO;
		}
		logf_("published %s v%u sha256 %s", fragml_hook_name(k), version, sha[k]);
	}
	return 0;
}

/* The [scope] cgroups (enforce mode only), set before any model is published:
 * a scoped model never decides for a task outside its scope. */
static int apply_scope(struct fragml_handle *h, const struct fragml_wd_conf *c, bool enforce)
{
	const char *paths[FRAGML_WD_MAX_CGROUPS];
	struct fragml_err err = { 0 };

	if (!c->n_cgroups)
		return 0;
	if (!enforce) {
		logf_("[scope]: observe mode, ignored (nothing is enforced)");
		return 0;
	}
	for (int i = 0; i < c->n_cgroups; i++)
		paths[i] = c->cgroups[i];
	if (fragml_scope_set(h, paths, c->n_cgroups, &err)) {
		logf_("%s", fragml_err_msg(&err));
		return -EINVAL;
	}
	logf_("scope: the models decide for %d cgroup(s) only; other tasks get the kernel default",
	      c->n_cgroups);
	return 0;
}

/* [canary] candidates (enforce mode only). */
static int apply_canary(struct fragml_handle *h, const struct fragml_wd_conf *c, bool enforce)
{
	struct fragml_model *m = NULL;
	struct fragml_err err = { 0 };
	int ret = 0;

	for (unsigned int k = 0; k < FRAGML_NR_HOOKS && !ret; k++) {
		char sha[FRAGML_SHA256_HEX];

		if (!c->canary[k][0])
			continue;
		if (!enforce) {
			logf_("[canary] %s: observe mode, ignored (the canary needs the patched kernel)",
			      fragml_hook_name(k));
			continue;
		}
		if (!m && !(m = malloc(sizeof(*m))))
			return -ENOMEM;
		if (fragml_model_read_file(m, c->canary[k], &err) || fragml_model_sha256(m, sha, &err) ||
		    fragml_canary_set(h, m, &err)) {
			logf_("%s", fragml_err_msg(&err));
			ret = -EINVAL;
		} else {
			logf_("canary %s: sha256 %s beside the live model (counted, not enforced)",
			      fragml_hook_name(k), sha);
		}
	}
	free(m);
	return ret;
}

/* ---- `fragml daemon --status` ---- */

static int show_status(const struct fragml_wd_conf *c, bool json)
{
	char path[PATH_MAX + 32];
	struct json_object *o;

	snprintf(path, sizeof(path), "%s/%s", c->run_dir, FRAGML_WD_STATE_FILE);
	o = json_object_from_file(path);
	if (!o) {
		if (json) {
			o = json_object_new_object();
			json_object_object_add(o, "state", json_object_new_string("never run"));
			json_object_object_add(o, "file", json_object_new_string(path));	/* escaped */
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else
			printf("watchdog: never ran here (%s missing)\n", path);
		return 0;
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		fragml_cli_watchdog_line(stdout, o);
	json_object_put(o);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: fragml daemon [--config FILE] [--once [--intervals N]] [--verbose]\n"
		"       fragml daemon --status [--json] [--config FILE]\n"
		"       fragml daemon --check --config FILE\n"
		"The watchdog, in the foreground (systemd: fragml.service).  Measures a baseline\n"
		"under the kernel default, publishes the configured models (attaching the policy),\n"
		"then every interval compares THP misses, compaction stalls, direct reclaim,\n"
		"allocation stalls and PSI memory with its limits and the baseline.  After\n"
		"`consecutive` worse intervals it detaches the policy (kernel default), logs why\n"
		"and records it for fragml status.  One log line per event on stderr.\n\n"
		"  -c, --config FILE  configuration (default /etc/fragml/fragml.conf if present;\n"
		"                     format: man fragml-daemon, docs/operator.md)\n"
		"      --once         stop after --intervals N intervals (default consecutive + 2)\n"
		"                     or at the first trip; exit 0 if not tripped, 3 if tripped\n"
		"      --check        parse the config and validate its models; touch nothing\n"
		"      --status       what the watchdog did last (<run_dir>/watchdog.json)\n"
		"  -j, --json         with --status or --check: JSON\n"
		"  -v, --verbose      also log every interval's measurements\n"
		"  -h, --help         this text\n\n"
		"Environment: FRAGML_STATE_DIR (last good and bad models, default %s),\n"
		"FRAGML_RUN_DIR (watchdog.json, default %s).  Needs root.\n",
		FRAGML_WD_STATE_DIR, FRAGML_WD_RUN_DIR);
}

static int check_conf(const struct fragml_wd_conf *c, bool json)
{
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	struct json_object *o = json_object_new_object(), *mo = json_object_new_object();
	struct json_object *co = json_object_new_object(), *wo = json_object_new_object();
	struct json_object *sc = json_object_new_array();
	int ret = 0;

	for (unsigned int k = 0; m && k < FRAGML_NR_HOOKS; k++) {
		for (int can = 0; can < 2; can++) {
			const char *p = can ? c->canary[k] : c->models[k];
			char sha[FRAGML_SHA256_HEX];

			if (!p[0])
				continue;
			if (fragml_model_read_file(m, p, &err) || fragml_model_sha256(m, sha, &err)) {
				fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
				ret = 1;
				continue;
			}
			if ((unsigned int)m->hook != k) {
				fprintf(stderr, "%s: %s: a %s model, configured for %s\n", prog, p,
					fragml_hook_name(m->hook), fragml_hook_name(k));
				ret = 1;
				continue;
			}
			json_object_object_add(can ? co : mo, fragml_hook_name(k), json_object_new_string(sha));
		}
	}
	for (int i = 0; i < FRAGML_WD_NR; i++) {
		char k[64];

		snprintf(k, sizeof(k), "max_%s", fragml_wd_metric_names[i]);
		json_object_object_add(wo, k, json_object_new_double(c->max[i]));
		snprintf(k, sizeof(k), "slack_%s", fragml_wd_metric_names[i]);
		json_object_object_add(wo, k, json_object_new_double(c->slack[i]));
	}
	json_object_object_add(wo, "interval", json_object_new_double(c->interval));
	json_object_object_add(wo, "baseline", json_object_new_double(c->baseline));
	json_object_object_add(wo, "consecutive", json_object_new_int((int)c->consecutive));
	json_object_object_add(wo, "good_after", json_object_new_double(c->good_after));
	json_object_object_add(wo, "worse_factor", json_object_new_double(c->worse_factor));
	json_object_object_add(wo, "min_thp_faults", json_object_new_int64(c->min_thp_faults));
	for (int i = 0; i < c->n_cgroups; i++)
		json_object_array_add(sc, json_object_new_string(c->cgroups[i]));
	json_object_object_add(o, "models", mo);
	json_object_object_add(o, "canary", co);
	json_object_object_add(o, "watchdog", wo);
	json_object_object_add(o, "scope", sc);
	json_object_object_add(o, "guard", json_object_new_boolean(c->guard));
	json_object_object_add(o, "state_dir", json_object_new_string(c->state_dir));
	json_object_object_add(o, "run_dir", json_object_new_string(c->run_dir));
	if (!m)
		ret = 1;
	if (!ret)
		printf("%s\n", json ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) :
				     "fragml daemon: config valid");
	json_object_put(o);
	free(m);
	return ret;
}

int fragml_cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "once", no_argument, NULL, 'o' },
		{ "intervals", required_argument, NULL, 'n' }, { "status", no_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'k' }, { "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct fragml_model *models[FRAGML_NR_HOOKS] = { 0 };
	struct fragml_wd_conf *c = malloc(sizeof(*c));
	struct wd_state *s = calloc(1, sizeof(*s));
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	struct fragml_open_opts oo;
	struct fragml_open_info oi;
	const char *conf_path = NULL;
	bool once = false, status = false, check = false, json = false, enforce, rebase = false;
	long max_intervals = -1;
	struct sample prev, cur, b0, thp_from;
	double start, next, good_at;
	char buf[512], reason[512];
	int ch, ret = 1;

	if (!c || !s) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	fragml_wd_conf_defaults(c);
	while ((ch = getopt_long(argc, argv, "c:jvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'o': once = true; break;
		case 'n': {
			char *end;

			max_intervals = strtol(optarg, &end, 10);
			if (*end || max_intervals < 1 || max_intervals > 1000000) {
				fprintf(stderr, "%s: --intervals %s: give 1..1000000\n", prog, optarg);
				ret = 2;
				goto out;
			}
			break;
		}
		case 's': status = true; break;
		case 'k': check = true; break;
		case 'j': json = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); ret = 0; goto out;
		default: usage(stderr); ret = 2; goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	if (!conf_path && access("/etc/fragml/fragml.conf", F_OK) == 0)
		conf_path = "/etc/fragml/fragml.conf";
	if (conf_path && fragml_wd_conf_parse(c, conf_path, &err)) {
		ret = fragml_cli_fail(prog, &err);
		goto out;
	}
	if (status) {
		ret = show_status(c, json);
		goto out;
	}
	if (check) {
		ret = check_conf(c, json);
		goto out;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)\n", prog);
		goto out;
	}
	if (max_intervals < 0)
		max_intervals = c->consecutive + 2;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	s->conf = c;
	s->since = time(NULL);
	enforce = fragml_policy_supported(NULL) == 1;
	logf_("start (pid %d, config %s, interval %.3g s, baseline %.3g s, %u worse intervals trip it, %s mode)",
	      getpid(), conf_path ? conf_path : "(defaults)", c->interval, c->baseline, c->consecutive,
	      enforce ? "enforce" : "observe");
	if (choose_models(c, models, s->sha))
		goto out;

	/* The baseline: always under the kernel default (a restarted daemon
	 * finds the policy attached: it detaches it for the baseline window). */
	if (enforce && fragml_policy_current(buf, sizeof(buf), NULL) == 0) {
		if (fragml_policy_detach(&err)) {
			logf_("%s", fragml_err_msg(&err));
			goto out;
		}
		logf_("policy %s detached for the baseline (the models stay pinned)", buf);
		rebase = true;
	}
	s->state = "baseline";
	write_state(s);
	take_sample(&b0);
	if (!sleep_until(b0.t + c->baseline))
		goto stopped;
	take_sample(&prev);
	/* any THP fault attempt counts for the baseline; none: judged against 0 */
	metrics(&b0, &prev, 1, s->base);
	s->have_base = true;
	fmt_metrics(buf, sizeof(buf), s->base);
	logf_("baseline over %.1f s (kernel default): %s", prev.t - b0.t, buf);
	if (isnan(s->base[FRAGML_WD_THP_MISS])) {
		s->base[FRAGML_WD_THP_MISS] = 0;
		logf_("no THP fault in the baseline: thp_miss is judged against 0 + slack %.3g",
		      c->slack[FRAGML_WD_THP_MISS]);
	}

	fragml_cli_open_opts(&oo);
	oo.install = true;
	oo.guard = c->guard;
	if (fragml_open(&h, &oo, &oi, &err)) {
		ret = fragml_cli_fail(prog, &err);
		goto out;
	}
	if (apply_scope(h, c, oi.enforce) || publish_models(h, models, s->sha) ||
	    apply_canary(h, c, oi.enforce))
		goto out;
	if (oi.enforce && fragml_policy_current(buf, sizeof(buf), NULL) == 0)
		logf_("policy %s attached: the models decide", buf);
	else
		logf_("observe mode: the models decide nothing; watching only");

	s->state = "watching";
	s->since = time(NULL);
	write_state(s);
	take_sample(&prev);
	thp_from = prev;
	start = prev.t;
	good_at = start + c->good_after;
	next = start + c->interval;
	while (sleep_until(next)) {
		bool worse;

		double thp[FRAGML_WD_NR];
		bool held;

		take_sample(&cur);
		next += c->interval;
		metrics(&prev, &cur, c->min_thp_faults, s->last);
		/* THP misses over the intervals since the last one with enough
		 * fault attempts: a quiet interval adds to the next */
		metrics(&thp_from, &cur, c->min_thp_faults, thp);
		s->last[FRAGML_WD_THP_MISS] = thp[FRAGML_WD_THP_MISS];
		if (!isnan(thp[FRAGML_WD_THP_MISS]))
			thp_from = cur;
		s->have_last = true;
		prev = cur;
		s->intervals++;
		worse = judge(c, s->base, s->last, reason, sizeof(reason));
		/* too few THP faults to judge: no evidence either way, the run holds */
		held = !worse && isnan(s->last[FRAGML_WD_THP_MISS]);
		s->worse_run = worse ? s->worse_run + 1 : held ? s->worse_run : 0;
		if (worse || verbose) {
			fmt_metrics(buf, sizeof(buf), s->last);
			logf_("interval %u: %s%s%s (%u in a row)", s->intervals, buf,
			      worse ? ": worse: " : held ? ": too few THP faults, held" : ": ok",
			      worse ? reason : "", s->worse_run);
		}
		if (s->worse_run >= c->consecutive) {
			s->at = time(NULL);
			snprintf(s->reason, sizeof(s->reason), "%s for %u intervals of %.3g s", reason,
				 s->worse_run, c->interval);
			if (enforce && fragml_policy_detach(&err))
				logf_("cannot detach the policy: %s", fragml_err_msg(&err));
			s->state = "detached";
			write_state(s);
			record_bad(s);
			logf_("detached the policy: %s; the kernel default decides (models stay pinned; bad models listed in %s/bad-models)",
			      s->reason, c->state_dir);
			ret = once ? 3 : 0;
			goto out;
		}
		if (!s->good_recorded && cur.t >= good_at)
			record_good(h, s);
		write_state(s);
		if (once && s->intervals >= max_intervals) {
			logf_("%u intervals, not tripped", s->intervals);
			ret = 0;
			goto out;
		}
	}
stopped:
	s->state = "stopped";
	write_state(s);
	if (rebase && !h) {	/* stopped in the baseline: put the policy back */
		fragml_cli_open_opts(&oo);
		oo.install = true;
		oo.guard = c->guard;
		if (fragml_open(&h, &oo, &oi, &err))
			logf_("cannot attach the policy again: %s", fragml_err_msg(&err));
	}
	logf_("signal %d: stopping; the policy stays as it is (attached and pinned)", (int)stop_sig);
	ret = 0;
out:
	for (unsigned int k = 0; k < FRAGML_NR_HOOKS; k++)
		free(models[k]);
	fragml_close(h);
	free(c);
	free(s);
	return ret;
}
