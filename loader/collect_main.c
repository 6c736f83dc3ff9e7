// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fragml-collect: thin wrapper around the collection stage (loader/collect.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragml_collect.h"

static struct fragml_collector *g_c;
static struct fragml_gate_collector *g_gc;

static void on_signal(int sig)
{
	(void)sig;
	fragml_collect_stop(g_c);
	fragml_gate_collect_stop(g_gc);
}

static void show(const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "fragml-collect: %s\n", line);
}

/* Signals stop the collection; so does the end of the command after "--", if any. */
static pid_t start_command(int argc, char **argv)
{
	pid_t child;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (optind >= argc)
		return 0;
	signal(SIGCHLD, on_signal);
	child = fork();
	if (child == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "fragml-collect: %s: cannot run: %m\n", argv[optind]);
		_exit(127);
	}
	return child;
}

static void end_command(pid_t child, int *status)
{
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, status, 0);
	}
}

/* --gate: the fallback gate's decisions and outcomes (docs/dataset.md "fallback"). */
static int gate_main(const struct fragml_collect_opts *o, struct fragml_gate_collect_opts *go,
		     int argc, char **argv)
{
	struct fragml_gate_collect_stats st;
	struct fragml_err err = {};
	pid_t child = 0;
	int ret, status = 0;

	go->outdir = o->outdir;
	go->workload = o->workload;
	go->duration_s = o->duration_s;
	go->progress = o->progress;
	ret = fragml_gate_collect_open(&g_gc, go, &err);
	if (ret) {
		fprintf(stderr, "fragml-collect: %s\n", fragml_err_msg(&err));
		return 1;
	}
	child = start_command(argc, argv);
	ret = fragml_gate_collect_run(g_gc, &st, &err);
	end_command(child, &status);
	fragml_gate_collect_close(g_gc);
	if (ret) {
		fprintf(stderr, "fragml-collect: %s\n", fragml_err_msg(&err));
		return 1;
	}
	fprintf(stderr, "fragml-collect: %.1fs, %llu decisions, %llu outcomes, rows defer %llu now %llu, open %llu, lost %llu+%llu -> %s\n",
		st.elapsed_s, (unsigned long long)st.decisions, (unsigned long long)st.outcomes,
		(unsigned long long)st.rows_defer, (unsigned long long)st.rows_now,
		(unsigned long long)st.open, (unsigned long long)st.lost_decisions,
		(unsigned long long)st.lost_outcomes, o->outdir);
	return child > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: fragml-collect [options] [-- command args...]\n"
"Trace page allocations, frees, fallbacks, faults, slab and compaction events on a\n"
"stock kernel (tracepoints only) and write labelled datasets (docs/dataset.md).\n"
"  -o, --out DIR          output directory (lifetime.csv, thp_fault.csv, compaction.csv, summary.json)\n"
"  -w, --workload NAME    workload id written in every row (default: the command name)\n"
"  -d, --duration SEC     stop after SEC seconds (default: when the command exits, or Ctrl-C)\n"
"  -s, --sample N         track 1 in N unmovable/reclaimable allocations (power of two, default 1)\n"
"  -T, --lifetime SEC     lifetime label threshold T (default 2, the observe programs' T)\n"
"      --thp-life SEC     THP label: minimum region life (default 1)\n"
"      --thp-dense PPK    THP label: touched share per 1024 (default 768)\n"
"      --ringbuf KIB      ring buffer size (power of two, default RAM / 256 within 1..16 MiB)\n"
"      --stacks           record the kernel call stacks of tracked allocations; summary.json\n"
"                         \"stacks\" lists the top sources with their stacks, symbolised\n"
"      --stacks-top N     call stacks per source (default 5)\n"
"  -p, --pid PID          follow only this process (its allocations, faults, slab objects)\n"
"  -c, --cgroup DIR       follow only tasks in this memory cgroup or below it\n"
"                         (/sys/fs/cgroup/memory/... on cgroup v1, /sys/fs/cgroup/... on v2)\n"
"  -q, --quiet            no progress line\n"
"      --gate             fallback-gate data instead (patched kernel, a fallback model\n"
"                         published): DIR/fallback.csv, fallback_now.csv, gate_summary.json\n"
"      --explore PPM      --gate: a random action for PPM per 10^6 decisions (default 500000)\n"
"      --explore-action A --gate: the waiting action exploration draws against \"now\":\n"
"                         defer (reclaim and compaction, the default) or compact\n"
"      --log-all          --gate: also log decisions the kernel cannot defer\n"
"With a command, collection starts before it runs and stops when it exits.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", 1, 0, 'o' }, { "workload", 1, 0, 'w' }, { "duration", 1, 0, 'd' },
		{ "sample", 1, 0, 's' }, { "lifetime", 1, 0, 'T' }, { "thp-life", 1, 0, 1 },
		{ "thp-dense", 1, 0, 2 }, { "ringbuf", 1, 0, 3 }, { "stacks", 0, 0, 4 },
		{ "stacks-top", 1, 0, 5 }, { "gate", 0, 0, 6 }, { "explore", 1, 0, 7 },
		{ "log-all", 0, 0, 8 }, { "explore-action", 1, 0, 9 },
		{ "pid", 1, 0, 'p' }, { "cgroup", 1, 0, 'c' }, { "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' }, {}
	};
	struct fragml_collect_opts o;
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	struct fragml_gate_collect_opts go = { .explore_ppm = 500000 };
	pid_t child = 0;
	int opt, ret, status = 0, gate = 0;

	fragml_collect_opts_default(&o);
	o.progress = show;
	while ((opt = getopt_long(argc, argv, "+o:w:d:s:T:p:c:qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'o': o.outdir = optarg; break;
		case 'w': o.workload = optarg; break;
		case 'd': o.duration_s = atof(optarg); break;
		case 's': o.sample = strtoul(optarg, NULL, 0); break;
		case 'T': o.lifetime_T_s = atof(optarg); break;
		case 1: o.thp_min_life_s = atof(optarg); break;
		case 2: o.thp_dense_ppk = strtoul(optarg, NULL, 0); break;
		case 3: o.ringbuf_kb = strtoul(optarg, NULL, 0); break;
		case 4: o.stacks = true; break;
		case 5: o.stacks_top = strtoul(optarg, NULL, 0); o.stacks = true; break;
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !v || v > 0x3fffffff) {
				fprintf(stderr, "fragml-collect: --pid %s: not a process id\n", optarg);
				return 2;
			}
			o.target_tgid = (uint32_t)v;
			break;
		}
		case 'c': o.cgroup = optarg; break;
		case 'q': o.progress = NULL; break;
		case 6: gate = 1; break;
		case 7: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || *optarg == '-' || v > 1000000) {
				fprintf(stderr, "fragml-collect: --explore %s: parts per million, 0..1000000\n",
					optarg);
				return 2;
			}
			go.explore_ppm = (uint32_t)v;
			break;
		}
		case 8: go.log_all = true; break;
		case 9:
			if (!strcmp(optarg, "defer")) {
				go.explore_action = FRAGML_FALLBACK_DEFER;
			} else if (!strcmp(optarg, "compact")) {
				go.explore_action = FRAGML_FALLBACK_COMPACT;
			} else {
				fprintf(stderr, "fragml-collect: --explore-action %s: defer or compact\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc && !strcmp(o.workload, "unnamed"))
		o.workload = argv[optind];
	if (o.lifetime_T_s <= 0) {
		fprintf(stderr, "fragml-collect: --lifetime %g: must be > 0 seconds\n", o.lifetime_T_s);
		return 2;
	}
	if (gate)
		return gate_main(&o, &go, argc, argv);
	ret = fragml_collect_open(&g_c, &o, &err);
	if (ret) {
		fprintf(stderr, "fragml-collect: %s\n", fragml_err_msg(&err));
		return 1;
	}
	child = start_command(argc, argv);
	ret = fragml_collect_run(g_c, &st, &err);
	end_command(child, &status);
	fragml_collect_close(g_c);
	if (ret) {
		fprintf(stderr, "fragml-collect: %s\n", fragml_err_msg(&err));
		return 1;
	}
	fprintf(stderr, "fragml-collect: %.1fs, %llu events, %llu lost, rows lifetime %llu thp_fault %llu compaction %llu (censored %llu), kernel memory %.1f MiB, reader %.1f s CPU, ring %llu KiB peak %llu KiB, %llu wakeups -> %s\n",
		st.elapsed_s, (unsigned long long)st.events, (unsigned long long)st.lost,
		(unsigned long long)st.rows[0], (unsigned long long)st.rows[1],
		(unsigned long long)st.rows[2], (unsigned long long)st.censored,
		st.kernel_bytes / 1048576.0, st.reader_cpu_s,
		(unsigned long long)st.ring_bytes / 1024, (unsigned long long)st.ring_peak_bytes / 1024,
		(unsigned long long)st.ring_wakeups, o.outdir);
	if (st.lost)
		fprintf(stderr, "fragml-collect: warning: %llu records lost (ring full): raise --ringbuf or --sample\n",
			(unsigned long long)st.lost);
	return child > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}
