// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * frag-alert: a diagnosis tool built on the fragml identification feed.
 *
 * Prints an alert when a source (process, kernel thread or slab cache)
 * starts polluting pageblocks faster than a threshold: distinct 2 MB
 * pageblocks its allocations fell back into (made mixed) within a sliding
 * window.  Prints "recovered" when it falls back under half the threshold.
 *
 *   frag-alert [--socket PATH] [--threshold BLOCKS_PER_S] [--window S]
 *              [--duration S] [--max-alerts N]
 *
 * Uses only the public libfragml API (<fragml/fragml_feed.h> once installed):
 *   cc frag-alert.c $(pkg-config --cflags --libs fragml)
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fragml_feed.h"

#define MAX_SOURCES	256
#define MAX_RECENT	512	/* remembered fallbacks per source */

struct source {
	char name[64];
	unsigned int cls;
	uint32_t tgid;
	uint64_t cgroup;
	uint64_t ts[MAX_RECENT];	/* fallback times, ring */
	uint64_t block[MAX_RECENT];
	unsigned int head, n;
	uint64_t allocs, long_allocs;	/* weighted, since start */
	uint32_t model_version;
	int alerting;
};

static struct source sources[MAX_SOURCES];
static unsigned int n_sources;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct source *source_of(const struct fragml_feed_record *r)
{
	char name[64];
	unsigned int i, oldest = 0;

	fragml_feed_source(r, name, sizeof(name));
	for (i = 0; i < n_sources; i++)
		if (sources[i].cls == r->cls && !strcmp(sources[i].name, name))
			return &sources[i];
	if (n_sources < MAX_SOURCES)
		i = n_sources++;
	else {	/* full: reuse the source quiet for longest */
		for (i = 1; i < MAX_SOURCES; i++)
			if (sources[i].n == 0 || sources[i].ts[(sources[i].head + MAX_RECENT - 1) % MAX_RECENT] <
			    sources[oldest].ts[(sources[oldest].head + MAX_RECENT - 1) % MAX_RECENT])
				oldest = i;
		i = oldest;
	}
	memset(&sources[i], 0, sizeof(sources[i]));
	snprintf(sources[i].name, sizeof(sources[i].name), "%s", name);
	sources[i].cls = r->cls;
	sources[i].tgid = r->tgid;
	sources[i].cgroup = r->cgroup;
	return &sources[i];
}

/* Distinct pageblocks among the fallbacks of the last `window_ns`. */
static unsigned int distinct_blocks(const struct source *s, uint64_t now, uint64_t window_ns)
{
	uint64_t seen[MAX_RECENT];
	unsigned int n = 0;

	for (unsigned int k = 0; k < s->n; k++) {
		unsigned int i = (s->head + MAX_RECENT - 1 - k) % MAX_RECENT;
		unsigned int j;

		if (now - s->ts[i] > window_ns)
			break;
		for (j = 0; j < n && seen[j] != s->block[i]; j++)
			;
		if (j == n)
			seen[n++] = s->block[i];
	}
	return n;
}

static void report(const char *what, const struct source *s, unsigned int blocks, double window,
		   double threshold, uint64_t now)
{
	printf("%s %llu.%03llu source=%s class=%s tgid=%u cgroup=%llu pageblocks=%u window=%.1fs rate=%.1f/s threshold=%.1f/s long_lived=%.0f%% model=v%u\n",
	       what, (unsigned long long)(now / 1000000000ull),
	       (unsigned long long)(now / 1000000ull % 1000), s->name, fragml_feed_class_name(s->cls),
	       s->tgid, (unsigned long long)s->cgroup, blocks, window, blocks / window, threshold,
	       s->allocs ? 100.0 * (double)s->long_allocs / (double)s->allocs : 0.0,
	       s->model_version);
	fflush(stdout);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fold one record in; 1 if its source starts an alert. */
static int alert_on_record(const struct fragml_feed_record *r, double window, double threshold)
{
	uint64_t window_ns = (uint64_t)(window * 1e9);
	struct source *s;
	unsigned int blocks;

	if (r->kind != FRAGML_FEED_ALLOC)
		return 0;
	s = source_of(r);
	s->allocs += r->weight;
	s->model_version = r->model_version;
	if (r->model_version && r->action == FRAGML_FEED_LONG_LIVED)
		s->long_allocs += r->weight;
	if (!(r->flags & FRAGML_FEED_F_EXTFRAG))
		return 0;
	s->ts[s->head] = r->ts_ns;
	s->block[s->head] = r->pageblock;
	s->head = (s->head + 1) % MAX_RECENT;
	if (s->n < MAX_RECENT)
		s->n++;
	blocks = distinct_blocks(s, r->ts_ns, window_ns);
	if (s->alerting || blocks / window < threshold)
		return 0;
	s->alerting = 1;
	report("ALERT", s, blocks, window, threshold, r->ts_ns);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "threshold", required_argument, NULL, 't' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-alerts", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *sock = getenv("FRAGML_FEED_SOCK");
	double threshold = 4, window = 1, duration = 0;
	unsigned long max_alerts = 0, alerts = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct fragml_err err = { 0 };
	struct fragml_feed_record r;
	struct fragml_feed *feed;
	uint64_t start, window_ns;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:t:w:d:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 't': threshold = atof(optarg); break;
		case 'w': window = atof(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'm': max_alerts = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: frag-alert [--socket PATH] [--threshold BLOCKS_PER_S] [--window S] [--duration S] [--max-alerts N]\n"
				"Alert when a source pollutes more than BLOCKS_PER_S distinct pageblocks per second.\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!(threshold > 0) || !(window > 0) || window > 86400) {
		fprintf(stderr, "frag-alert: --threshold must be > 0 and --window in (0, 86400] s\n");
		return 2;
	}
	window_ns = (uint64_t)(window * 1e9);
	if (fragml_feed_connect(&feed, sock, &err)) {
		fprintf(stderr, "frag-alert: %s\n", fragml_err_msg(&err));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "frag-alert: watching (threshold %.1f pageblocks/s over %.1f s, lifetime model v%u)\n",
		threshold, window, fragml_feed_model_version(feed));
	start = monotonic_ns();
	while (!stop && (!max_alerts || alerts < max_alerts)) {
		uint64_t now = monotonic_ns();
		struct source *s;
		unsigned int blocks;

		if (duration > 0 && now - start >= (uint64_t)(duration * 1e9))
			break;
		ret = fragml_feed_next(feed, &r, 200, &err);
		if (ret < 0) {
			fprintf(stderr, "frag-alert: %s\n", fragml_err_msg(&err));
			fragml_feed_close(feed);
			return 1;
		}
		now = monotonic_ns();
		/* sources under alert: recovered once under half the threshold */
		for (unsigned int i = 0; i < n_sources; i++) {
			s = &sources[i];
			if (s->alerting) {
				blocks = distinct_blocks(s, now, window_ns);
				if (blocks / window < threshold / 2) {
					s->alerting = 0;
					report("recovered", s, blocks, window, threshold, now);
				}
			}
		}
		if (ret > 0)
			alerts += (unsigned long)alert_on_record(&r, window, threshold);
	}
	fragml_feed_close(feed);
	return 0;
}
