// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `fragml feed serve|dump`: the identification feed publisher and a reader (docs/feed.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_cli.h"
#include "fragml_feed.h"

static struct fragml_feed_server *g_server;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	fragml_feed_server_stop(g_server);
}

static void feed_usage(FILE *f)
{
	fprintf(f,
		"Usage: fragml feed serve [--socket PATH] [--sample-shift N] [--duration S] [--mode OCTAL]\n"
		"       fragml feed dump  [--socket PATH] [--count N] [--timeout S] [--json]\n\n"
		"serve  publish one record per lifetime decision (every pageblock fallback, 1 in 2^N\n"
		"       other unmovable/reclaimable allocations; default N=4) to every subscriber of\n"
		"       the UNIX socket (default $FRAGML_FEED_SOCK or " FRAGML_FEED_DEFAULT_SOCK ").\n"
		"       Needs a model loaded by fragml-load ($FRAGML_BPFFS as for every command).\n"
		"       The socket is root only (0600, its directory 0700); --mode 0660 and a group\n"
		"       let others read the records (pids, comms, cgroup ids).\n"
		"dump   print records as they arrive (text, or one JSON object per line).\n"
		"Record layout: docs/feed.md.\n");
}

static const char *default_sock(void)
{
	const char *p = getenv("FRAGML_FEED_SOCK");

	return p && *p ? p : FRAGML_FEED_DEFAULT_SOCK;
}

static int feed_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "sample-shift", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct fragml_feed_server_opts o = { .sample_shift = 4 };
	struct fragml_feed_server_stats st;
	struct fragml_err err = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	double duration = 0;
	char *end;
	int c, ret;

	o.sock_path = default_sock();
	o.bpffs = getenv("FRAGML_BPFFS");
	while ((c = getopt_long(argc, argv, "s:n:d:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.sock_path = optarg; break;
		case 'n':
			o.sample_shift = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || o.sample_shift > 20) {
				fprintf(stderr, "fragml feed serve: --sample-shift '%s': want 0..20\n", optarg);
				return 2;
			}
			break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || duration < 0) {
				fprintf(stderr, "fragml feed serve: --duration '%s': want seconds >= 0\n", optarg);
				return 2;
			}
			break;
		case 'm':
			o.sock_mode = (unsigned int)strtoul(optarg, &end, 8);
			if (*end || !o.sock_mode || o.sock_mode > 0777) {
				fprintf(stderr, "fragml feed serve: --mode '%s': want octal permission bits\n", optarg);
				return 2;
			}
			break;
		default:
			feed_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	ret = fragml_feed_server_open(&g_server, &o, &err);
	if (ret)
		return fragml_cli_fail("fragml feed serve", &err);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "fragml feed serve: publishing on %s (fallbacks: all, other allocations: 1 in %u)\n",
		o.sock_path, 1u << o.sample_shift);
	ret = fragml_feed_server_run(g_server, duration, &st, &err);
	fragml_feed_server_close(g_server);
	g_server = NULL;
	fprintf(stderr, "fragml feed serve: %llu records published, %llu lost in the kernel, %llu dropped for slow subscribers, %llu subscribers served\n",
		(unsigned long long)st.published, (unsigned long long)st.kernel_lost,
		(unsigned long long)st.dropped, (unsigned long long)st.clients_total);
	return ret ? fragml_cli_fail("fragml feed serve", &err) : 0;
}

static void dump_text(const struct fragml_feed_record *r)
{
	char src[64];

	fragml_feed_source(r, src, sizeof(src));
	printf("%-9s seq=%llu ts=%llu.%09llu src=%s cls=%s pageblock=%llu pfn=%llu order=%u mt=%d block_mt=%d %s%s model=v%u action=%s score=%lld weight=%u cgroup=%llu dropped=%u\n",
	       r->kind == FRAGML_FEED_ALLOC ? "alloc" : r->kind == FRAGML_FEED_HELLO ? "hello" : "heartbeat",
	       (unsigned long long)r->seq, (unsigned long long)(r->ts_ns / 1000000000ull),
	       (unsigned long long)(r->ts_ns % 1000000000ull), src, fragml_feed_class_name(r->cls),
	       (unsigned long long)r->pageblock, (unsigned long long)r->pfn, r->order, r->mt,
	       r->block_mt, r->flags & FRAGML_FEED_F_EXTFRAG ? "fallback" : "-",
	       r->flags & FRAGML_FEED_F_CLAIM ? "+claim" : "", r->model_version,
	       !r->model_version ? "none" : r->action == FRAGML_FEED_LONG_LIVED ? "long" : "short",
	       (long long)r->score, r->weight, (unsigned long long)r->cgroup, r->dropped);
}

static void dump_json(const struct fragml_feed_record *r)
{
	char raw[64], src[64 * 3];

	fragml_feed_source(r, raw, sizeof(raw));
	/* comm/slab come from the kernel: print only their safe characters, as
	 * valid UTF-8 (a byte that is not becomes U+FFFD) */
	for (char *p = raw; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	fragml_utf8_clean(src, sizeof(src), raw);
	printf("{\"kind\":%u,\"seq\":%llu,\"ts_ns\":%llu,\"source\":\"%s\",\"tgid\":%u,\"cgroup\":%llu,"
	       "\"class\":\"%s\",\"pfn\":%llu,\"pageblock\":%llu,\"order\":%u,\"mt\":%d,\"block_mt\":%d,"
	       "\"flags\":%u,\"model_version\":%u,\"action\":%u,\"score\":%lld,\"weight\":%u,\"dropped\":%u}\n",
	       r->kind, (unsigned long long)r->seq, (unsigned long long)r->ts_ns, src, r->tgid,
	       (unsigned long long)r->cgroup, fragml_feed_class_name(r->cls),
	       (unsigned long long)r->pfn, (unsigned long long)r->pageblock, r->order, r->mt,
	       r->block_mt, r->flags, r->model_version, r->action, (long long)r->score, r->weight,
	       r->dropped);
}

static int feed_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct fragml_err err = { 0 };
	struct fragml_feed_record r;
	struct fragml_feed *f;
	const char *sock = default_sock();
	unsigned long count = 0, got = 0;
	double timeout = 0;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:c:t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': count = strtoul(optarg, NULL, 10); break;
		case 't': timeout = strtod(optarg, NULL); break;
		case 'j': json = true; break;
		default:
			feed_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (fragml_feed_connect(&f, sock, &err))
		return fragml_cli_fail("fragml feed dump", &err);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!g_stop && (!count || got < count)) {
		ret = fragml_feed_next(f, &r, timeout > 0 ? (int)(timeout * 1000) : -1, &err);
		if (ret < 0) {
			fragml_feed_close(f);
			return fragml_cli_fail("fragml feed dump", &err);
		}
		if (ret == 0) {
			if (g_stop)
				break;
			fprintf(stderr, "fragml feed dump: no record within %.1f s\n", timeout);
			fragml_feed_close(f);
			return 1;
		}
		if (r.kind != FRAGML_FEED_ALLOC)
			continue;
		json ? dump_json(&r) : dump_text(&r);
		fflush(stdout);
		got++;
	}
	fragml_feed_close(f);
	return 0;
}

int fragml_cmd_feed(int argc, char **argv)
{
	if (argc < 2) {
		feed_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "serve"))
		return feed_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return feed_dump(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		feed_usage(stdout);
		return 0;
	}
	fprintf(stderr, "fragml feed: unknown subcommand '%s' (serve, dump)\n", argv[1]);
	return 2;
}
