// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: training data of the fallback gate (fragml-collect
 * --gate).  The policy logs each gate decision (bpf/fragml_policy.bpf.c,
 * fragml_gate_log) and, with exploration on, takes a random action for a
 * share of them; the outcome tracer (bpf/fragml_gatelog.bpf.c) reports what
 * the allocation then did.  Both carry the decision's sequence number; this
 * file joins them and writes the datasets of docs/dataset.md "fallback".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "fragml_collect.h"
#include "fragml_load.h"
#include "fragml_policy.h"
#include "fragml_gatelog.skel.h"
#include "guard.h"
#include "fragml_gate_events.h"
#include "mono_ns.h"

#define GATE_MAX_RECS	(1u << 21)	/* decisions kept per run (~300 MiB at most) */

/*
 * What a deferral cost beyond its own task's direct reclaim: kswapd woken at
 * pageblock order keeps reclaiming after the allocation returned.  The
 * collector samples the machine's reclaim and swap-out counters every
 * GATE_COST_SAMPLE_NS and charges each deferred decision its share of what
 * was reclaimed from its decision to GATE_COST_WINDOW_NS after its return
 * (an interval's pages split equally among the deferrals whose window covers
 * it).  docs/dataset.md "fallback", columns reclaim_share and swap_share.
 */
#define GATE_COST_SAMPLE_NS	(20 * 1000 * 1000ull)
#define GATE_COST_WINDOW_NS	(200 * 1000 * 1000ull)
#define GATE_COST_MAX_SAMPLES	(1u << 20)
static const char *const cost_vmstat[] = { "pgsteal_kswapd", "pgsteal_direct", "pswpout" };

struct cost_sample {
	uint64_t t;		/* CLOCK_MONOTONIC ns, the clock of bpf_ktime_get_ns() */
	int64_t reclaimed;	/* pgsteal_kswapd + pgsteal_direct */
	int64_t swapped;	/* pswpout */
};

/* The kernel's gate counters (kernel-patches/0004), before and after. */
static const char *const gate_vmstat[] = {
	"fallback_gate_fallback", "fallback_gate_defer", "fallback_gate_defer_refused",
	"fallback_gate_defer_satisfied", "fallback_gate_defer_fellback",
	"fallback_gate_defer_reclaimed", "fallback_gate_defer_compacted",
	"fallback_gate_slowpath", "compact_stall", "allocstall_normal", "allocstall_dma32", "pgsteal_direct",
	"pgsteal_kswapd", "pswpout", "oom_kill",
};
#define N_GATE_VMSTAT (sizeof(gate_vmstat) / sizeof(gate_vmstat[0]))

struct gate_rec {
	struct fragml_gate_decision d;
	struct fragml_gate_outcome o;
	uint8_t has_d, has_o;
};

struct fragml_gate_collector {
	struct fragml_gate_collect_opts o;
	struct fragml_gatelog *skel;
	struct ring_buffer *rb;
	int cfg_fd, log_fd;
	struct fragml_gate_cfg cfg0;	/* as found: restored at the end */
	bool cfg_set;
	bool logged;		/* this collector turned the log on (it shrinks it at close) */
	uint64_t seq0;			/* decisions with seq > seq0 are this run's */
	struct gate_rec *recs;
	size_t n_recs, cap_recs;
	uint64_t dropped;		/* beyond GATE_MAX_RECS */
	struct fragml_gate_collect_stats st;
	int64_t vm0[N_GATE_VMSTAT], vm1[N_GATE_VMSTAT];
	struct cost_sample *cost;	/* the reclaim counters over the run */
	size_t n_cost, cap_cost;
	double *cover;			/* per sample interval: deferrals charged */
	volatile sig_atomic_t stop;
};

/* The slot of sequence number `seq`, growing the table; NULL when out of range. */
static struct gate_rec *slot(struct fragml_gate_collector *c, uint64_t seq)
{
	size_t i;

	if (seq <= c->seq0 || seq - c->seq0 > GATE_MAX_RECS) {
		c->dropped++;
		return NULL;
	}
	i = (size_t)(seq - c->seq0 - 1);
	if (i >= c->cap_recs) {
		size_t cap = c->cap_recs ? c->cap_recs : 4096;
		struct gate_rec *r;

		while (cap <= i)
			cap *= 2;
		r = realloc(c->recs, cap * sizeof(*r));
		if (!r) {
			c->dropped++;
			return NULL;
		}
		memset(r + c->cap_recs, 0, (cap - c->cap_recs) * sizeof(*r));
		c->recs = r;
		c->cap_recs = cap;
	}
	if (i >= c->n_recs)
		c->n_recs = i + 1;
	return &c->recs[i];
}

/* A decision or an outcome record into its sequence number's slot. */
static int store(struct fragml_gate_collector *c, uint64_t seq, const void *rec, size_t len,
		 bool outcome)
{
	struct gate_rec *r;

	if (len < (outcome ? sizeof(r->o) : sizeof(r->d)))
		return 0;
	if (outcome)
		c->st.outcomes++;
	else
		c->st.decisions++;
	r = slot(c, seq);
	if (!r)
		return 0;
	if (outcome) {
		memcpy(&r->o, rec, sizeof(r->o));
		r->has_o = 1;
	} else {
		memcpy(&r->d, rec, sizeof(r->d));
		r->has_d = 1;
	}
	return 0;
}

static int on_decision(void *ctx, void *data, size_t len)
{
	return store(ctx, ((const struct fragml_gate_decision *)data)->seq, data, len, false);
}

static int on_outcome(void *ctx, void *data, size_t len)
{
	return store(ctx, ((const struct fragml_gate_outcome *)data)->seq, data, len, true);
}

/*
 * The gate's log at `full` size (fragml_policy_gate_log()) and, since that
 * replaced its maps, the guard's set refreshed so the new ones are protected
 * as the old were.  -ENOENT: no policy attached.
 */
static int gate_log_resize(bool full, struct fragml_err *err)
{
	struct fragml_open_opts oo = { 0 };
	struct fragml_open_info oi;
	struct fragml_handle *h;
	int ret = fragml_policy_gate_log(full, err);

	if (ret)
		return ret;
	if (fragml_guard_pinned(FRAGML_PIN_DIR) && fragml_open(&h, &oo, &oi, NULL) == 0) {
		fragml_guard_refresh(h);
		fragml_close(h);
	}
	return 0;
}

static int cfg_write(struct fragml_gate_collector *c, uint32_t explore, uint32_t action,
		     uint32_t log, struct fragml_err *err)
{
	struct fragml_gate_cfg cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(c->cfg_fd, &zero, &cfg))
		return fragml_err_set(err, -errno, "%s/fragml_gate_cfg: read failed: %s",
				      FRAGML_PIN_DIR, strerror(errno));
	/* seq and the loss counters belong to the policy: only these three change */
	cfg.explore_ppm = explore;
	cfg.explore_action = action;
	cfg.log = log;
	if (bpf_map_update_elem(c->cfg_fd, &zero, &cfg, BPF_EXIST))
		return fragml_err_set(err, -errno, "%s/fragml_gate_cfg: update failed: %s",
				      FRAGML_PIN_DIR, strerror(errno));
	return 0;
}

void fragml_gate_collect_close(struct fragml_gate_collector *c)
{
	if (!c)
		return;
	if (c->cfg_set)
		cfg_write(c, c->cfg0.explore_ppm, c->cfg0.explore_action, c->cfg0.log, NULL);
	ring_buffer__free(c->rb);
	fragml_gatelog__destroy(c->skel);
	if (c->cfg_fd >= 0)
		close(c->cfg_fd);
	if (c->log_fd >= 0)
		close(c->log_fd);
	/* back to the idle size, unless another collector's log was on (EBUSY) */
	if (c->logged)
		gate_log_resize(false, NULL);
	free(c->recs);
	free(c->cost);
	free(c->cover);
	free(c);
}

void fragml_gate_collect_stop(struct fragml_gate_collector *c)
{
	if (c)
		c->stop = 1;
}

int fragml_gate_collect_open(struct fragml_gate_collector **cp,
			     const struct fragml_gate_collect_opts *o, struct fragml_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = FRAGML_PIN_DIR);
	struct fragml_gate_collector *c;
	__u32 zero = 0;
	int ret;

	if (!o->outdir)
		return fragml_err_set(err, -EINVAL, "--gate needs an output directory (-o DIR)");
	if (o->explore_action && o->explore_action != FRAGML_FALLBACK_DEFER &&
	    o->explore_action != FRAGML_FALLBACK_COMPACT)
		return fragml_err_set(err, -EINVAL, "--explore-action %u: defer (%d) or compact (%d)",
				      o->explore_action, FRAGML_FALLBACK_DEFER, FRAGML_FALLBACK_COMPACT);
	if (o->explore_ppm > FRAGML_GATE_PPM)
		return fragml_err_set(err, -EINVAL, "--explore %u: at most %u (parts per million)",
				      o->explore_ppm, FRAGML_GATE_PPM);
	c = calloc(1, sizeof(*c));
	if (!c)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	c->o = *o;
	c->cfg_fd = c->log_fd = -1;
	/* the log at full size while we collect (the policy keeps it small otherwise) */
	ret = gate_log_resize(true, err);
	if (ret && ret != -ENOENT)
		goto fail;
	c->cfg_fd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_gate_cfg");
	c->log_fd = bpf_obj_get(FRAGML_PIN_DIR "/fragml_gate_log");
	if (c->cfg_fd < 0 || c->log_fd < 0) {
		ret = fragml_err_set(err, -ENOENT,
				     "%s/fragml_gate_cfg, fragml_gate_log: not pinned (%s): the fallback gate is not attached; on the patched kernel publish a fallback model first (fragml-mkmodel --hook fallback --const fallback -o m.bin; fragml-load m.bin)",
				     FRAGML_PIN_DIR, strerror(errno));
		goto fail;
	}
	if (mkdir(o->outdir, 0755) && errno != EEXIST) {
		ret = fragml_err_set(err, -errno, "%s: cannot create: %s", o->outdir, strerror(errno));
		goto fail;
	}
	/* The tracer shares the policy's pending map through its pin. */
	c->skel = fragml_gatelog__open_opts(&oo);
	if (!c->skel) {
		ret = fragml_err_set(err, -errno, "outcome tracer: open failed: %s", strerror(errno));
		goto fail;
	}
	ret = fragml_gatelog__load(c->skel);
	if (ret) {
		fragml_err_set(err, ret,
			       "outcome tracer: load failed (%s): the pinned %s/fragml_gate_pending may be from another build ('fragml detach')",
			       strerror(-ret), FRAGML_PIN_DIR);
		goto fail;
	}
	ret = fragml_gatelog__attach(c->skel);
	if (ret) {
		fragml_err_set(err, ret, "outcome tracer: attach failed (%s): is tracefs mounted on /sys/kernel/tracing?",
			       strerror(-ret));
		goto fail;
	}
	c->rb = ring_buffer__new(c->log_fd, on_decision, c, NULL);
	if (!c->rb || ring_buffer__add(c->rb, bpf_map__fd(c->skel->maps.fragml_gate_outcomes),
				       on_outcome, c)) {
		ret = fragml_err_set(err, -errno, "ring buffers: cannot open: %s", strerror(errno));
		goto fail;
	}
	if (bpf_map_lookup_elem(c->cfg_fd, &zero, &c->cfg0)) {
		ret = fragml_err_set(err, -errno, "%s/fragml_gate_cfg: read failed: %s", FRAGML_PIN_DIR,
				     strerror(errno));
		goto fail;
	}
	if (c->cfg0.log) {
		ret = fragml_err_set(err, -EBUSY,
				     "%s/fragml_gate_cfg: the decision log is on already: another fragml-collect --gate runs",
				     FRAGML_PIN_DIR);
		goto fail;
	}
	*cp = c;
	return 0;
fail:
	fragml_gate_collect_close(c);
	return ret;
}

/*
 * Zone names by zone index, from /proc/zoneinfo (it lists every zone of a
 * node, populated or not, in index order): which zones exist depends on the
 * kernel's configuration (CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32, ...).
 */
static void zone_names(char names[][16], unsigned int max)
{
	char line[256], name[16];
	unsigned int n = 0;
	int node;
	FILE *f = fopen("/proc/zoneinfo", "r");

	for (unsigned int i = 0; i < max; i++)
		snprintf(names[i], 16, "zone%u", i);
	if (!f)
		return;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
			if (node != 0)
				break;
			snprintf(names[n++], 16, "%s", name);
		}
	fclose(f);
}

/* One sample of the machine's reclaim counters (skipped when out of room). */
static void cost_sample(struct fragml_gate_collector *c)
{
	int64_t v[3];

	if (c->n_cost == c->cap_cost) {
		size_t cap = c->cap_cost ? 2 * c->cap_cost : 4096;
		struct cost_sample *p;

		if (cap > GATE_COST_MAX_SAMPLES)
			return;
		p = realloc(c->cost, cap * sizeof(*p));
		if (!p)
			return;
		c->cost = p;
		c->cap_cost = cap;
	}
	fragml_vmstat_read(cost_vmstat, 3, v);
	if (v[0] < 0 || v[1] < 0)
		return;
	c->cost[c->n_cost].t = loader_mono_ns();
	c->cost[c->n_cost].reclaimed = v[0] + v[1];
	c->cost[c->n_cost].swapped = v[2] < 0 ? 0 : v[2];
	c->n_cost++;
}

/*
 * The sample intervals (sample i to i + 1) that a deferral's window (its
 * decision to GATE_COST_WINDOW_NS after its allocation returned) overlaps:
 * with charge, count the deferral in each; without, add its share of each
 * interval's reclaimed and swapped pages to *rec and *swp.
 */
static void cost_window(struct fragml_gate_collector *c, const struct gate_rec *r, bool charge,
			double *rec, double *swp)
{
	uint64_t from = r->d.ts, to = r->d.ts + r->o.dt_ns + GATE_COST_WINDOW_NS;
	size_t lo = 0, hi = c->n_cost;

	while (lo < hi) {	/* the first sample after `from` */
		size_t mid = lo + (hi - lo) / 2;

		if (c->cost[mid].t <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo ? lo - 1 : 0; i + 1 < c->n_cost && c->cost[i].t < to; i++) {
		if (charge) {
			c->cover[i] += 1;
		} else if (c->cover[i] > 0) {
			*rec += (double)(c->cost[i + 1].reclaimed - c->cost[i].reclaimed) / c->cover[i];
			*swp += (double)(c->cost[i + 1].swapped - c->cost[i].swapped) / c->cover[i];
		}
	}
}

/* A decision that is written as a row: logged, tracked, its outcome seen. */
static bool rec_is_row(const struct gate_rec *r)
{
	return r->has_d && (r->d.flags & FRAGML_GATE_F_PENDING) && r->has_o;
}

static int write_rows(struct fragml_gate_collector *c, struct fragml_err *err)
{
	static const char aux[] =
		"seq,pid,explored,model_action,model_version,extfrag,mixing,failed,dt_ns,reclaimed,action,"
		"reclaim_share,swap_share";
	int ids[FRAGML_GATE_NFEAT], nids = 0, ret;
	const struct fragml_feature_desc *fd;
	struct fragml_csv defer, now;
	char path[4096], src[32], extra[256], zones[8][16];
	int32_t feat[FRAGML_MAX_FEATURES];

	zone_names(zones, 8);
	/* every deferral's window first, so that shared intervals are split */
	free(c->cover);
	c->cover = calloc(c->n_cost + 1, sizeof(*c->cover));
	if (!c->cover)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_recs; i++)
		if (rec_is_row(&c->recs[i]) && c->recs[i].d.action != FRAGML_FALLBACK_NOW)
			cost_window(c, &c->recs[i], true, NULL, NULL);
	for (unsigned int i = 0; (fd = fragml_feature_at(i)); i++)
		if ((fd->enf & FRAGML_H_FB) && nids < FRAGML_GATE_NFEAT)
			ids[nids++] = fd->id;
	snprintf(path, sizeof(path), "%s/fallback.csv", c->o.outdir);
	ret = fragml_csv_open(&defer, path, c->o.workload, aux, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/fallback_now.csv", c->o.outdir);
	ret = fragml_csv_open(&now, path, c->o.workload, aux, err);
	if (ret) {
		fragml_csv_close(&defer, NULL);
		return ret;
	}
	for (size_t i = 0; i < c->n_recs && !ret; i++) {
		const struct gate_rec *r = &c->recs[i];
		const struct fragml_gate_decision *d = &r->d;
		const struct fragml_gate_outcome *o = &r->o;
		unsigned int label;
		double rec = 0, swp = 0;

		if (r->has_o && !r->has_d)
			c->st.orphan_outcomes++;
		if (!r->has_d || !(d->flags & FRAGML_GATE_F_PENDING))
			continue;	/* not logged, or an allocation that could not defer */
		if (!r->has_o) {
			c->st.open++;
			continue;
		}
		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			feat[k] = FRAGML_MISSING;
		for (int k = 0; k < nids; k++)
			feat[ids[k]] = d->f[k];
		snprintf(src, sizeof(src), "%s:%u", d->flags & FRAGML_ALLOC_F_KTHREAD ? "kthread" : "pid",
			 d->pid);
		if (d->action != FRAGML_FALLBACK_NOW)
			cost_window(c, r, false, &rec, &swp);
		snprintf(extra, sizeof(extra), "%llu,%u,%u,%d,%u,%u,%u,%u,%llu,%llu,%u,%.0f,%.0f",
			 (unsigned long long)d->seq, d->pid, !!(d->flags & FRAGML_GATE_F_EXPLORED),
			 d->model_action == 0xff ? -1 : (int)d->model_action, d->model_version,
			 o->extfrag, o->mixing, o->failed, (unsigned long long)o->dt_ns,
			 (unsigned long long)o->reclaimed, d->action, rec, swp);
		/* 1: the allocation got its page and left no pageblock mixed */
		label = !o->mixing && !o->failed;
		if (d->action != FRAGML_FALLBACK_NOW) {	/* defer or compact: waited */
			ret = fragml_csv_row(&defer, d->ts, FRAGML_HOOK_FALLBACK, zones[d->zone_idx & 7],
					     src, feat, label, extra, err);
			c->st.rows_defer++;
		} else {
			ret = fragml_csv_row(&now, d->ts, FRAGML_HOOK_FALLBACK, zones[d->zone_idx & 7],
					     src, feat, label, extra, err);
			c->st.rows_now++;
		}
	}
	if (fragml_csv_close(&defer, ret ? NULL : err) && !ret)
		ret = -EIO;
	if (fragml_csv_close(&now, ret ? NULL : err) && !ret)
		ret = -EIO;
	return ret;
}

static int write_summary(struct fragml_gate_collector *c, struct fragml_err *err)
{
	struct json_object *j = json_object_new_object(), *vm = json_object_new_object();
	const struct fragml_gate_collect_stats *s = &c->st;
	char path[4096];
	int ret = 0;

#define ADD(k, v) json_object_object_add(j, k, json_object_new_int64((int64_t)(v)))
	json_object_object_add(j, "workload", json_object_new_string(c->o.workload));
	ADD("explore_ppm", c->o.explore_ppm);
	json_object_object_add(j, "explore_action",
			       json_object_new_string(c->o.explore_action == FRAGML_FALLBACK_COMPACT ?
						      "compact" : "defer"));
	json_object_object_add(j, "elapsed_s", json_object_new_double(s->elapsed_s));
	ADD("decisions", s->decisions);
	ADD("outcomes", s->outcomes);
	ADD("rows_defer", s->rows_defer);
	ADD("rows_now", s->rows_now);
	ADD("open", s->open);
	ADD("orphan_outcomes", s->orphan_outcomes);
	ADD("lost_decisions", s->lost_decisions);
	ADD("lost_outcomes", s->lost_outcomes);
	ADD("pending_failed", s->pending_failed);
	ADD("dropped", c->dropped);
	ADD("cost_samples", c->n_cost);
#undef ADD
	for (size_t i = 0; i < N_GATE_VMSTAT; i++)
		if (c->vm0[i] >= 0 && c->vm1[i] >= 0)
			json_object_object_add(vm, gate_vmstat[i],
					       json_object_new_int64(c->vm1[i] - c->vm0[i]));
	json_object_object_add(j, "vmstat_delta", vm);
	snprintf(path, sizeof(path), "%s/gate_summary.json", c->o.outdir);
	if (json_object_to_file_ext(path, j, JSON_C_TO_STRING_PRETTY))
		ret = fragml_err_set(err, -EIO, "%s: cannot write", path);
	json_object_put(j);
	return ret;
}

int fragml_gate_collect_run(struct fragml_gate_collector *c, struct fragml_gate_collect_stats *st,
			    struct fragml_err *err)
{
	double t0 = loader_mono_s(), last = t0, end_drain;
	struct fragml_gate_cfg cfg;
	__u32 zero = 0, k;
	__u64 v;
	int ret;

	fragml_vmstat_read(gate_vmstat, N_GATE_VMSTAT, c->vm0);
	if (bpf_map_lookup_elem(c->cfg_fd, &zero, &cfg))
		return fragml_err_set(err, -errno, "fragml_gate_cfg: read failed: %s", strerror(errno));
	c->seq0 = cfg.seq;
	ret = cfg_write(c, c->o.explore_ppm, c->o.explore_action,
			c->o.log_all ? FRAGML_GATE_LOG_ALL : FRAGML_GATE_LOG_HONOURED, err);
	if (ret)
		return ret;
	c->cfg_set = c->logged = true;
	cost_sample(c);
	while (!c->stop && (c->o.duration_s <= 0 || loader_mono_s() - t0 < c->o.duration_s)) {
		ret = ring_buffer__poll(c->rb, GATE_COST_SAMPLE_NS / 1000000);
		if (!c->n_cost || loader_mono_ns() - c->cost[c->n_cost - 1].t >= GATE_COST_SAMPLE_NS)
			cost_sample(c);
		if (ret < 0 && ret != -EINTR)
			return fragml_err_set(err, ret, "ring buffer poll failed: %s", strerror(-ret));
		if (c->o.progress && loader_mono_s() - last >= 1.0) {
			char line[160];

			last = loader_mono_s();
			snprintf(line, sizeof(line), "%.0fs: %llu decisions, %llu outcomes",
				 last - t0, (unsigned long long)c->st.decisions,
				 (unsigned long long)c->st.outcomes);
			c->o.progress(line, c->o.progress_ctx);
		}
	}
	/* Log off; the allocations still deferred close within the drain. */
	cfg_write(c, c->cfg0.explore_ppm, c->cfg0.explore_action, c->cfg0.log, NULL);
	c->cfg_set = false;
	end_drain = loader_mono_s() + 1.0;
	while (loader_mono_s() < end_drain) {
		ring_buffer__poll(c->rb, GATE_COST_SAMPLE_NS / 1000000);
		cost_sample(c);
	}
	c->st.elapsed_s = loader_mono_s() - t0;
	fragml_vmstat_read(gate_vmstat, N_GATE_VMSTAT, c->vm1);
	if (!bpf_map_lookup_elem(c->cfg_fd, &zero, &cfg)) {
		c->st.lost_decisions = cfg.lost - c->cfg0.lost;
		c->st.pending_failed = cfg.pending_full - c->cfg0.pending_full;
	}
	k = FRAGML_GATELOG_LOST;
	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.fragml_gate_stats), &k, &v))
		c->st.lost_outcomes = v;
	ret = write_rows(c, err);
	if (!ret)
		ret = write_summary(c, err);
	*st = c->st;
	return ret;
}
