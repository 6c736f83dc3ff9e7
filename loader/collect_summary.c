// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: summary.json of a run (docs/dataset.md), written with
 * json-c: counts, the /proc snapshots before and after, the top call stacks,
 * the pageblock scan and the identification table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "fragml_identify.h"
#include "fragml_load.h"
#include "fragml_collect.skel.h"
#include "collect_internal.h"

struct src_total { uint32_t tgid, cls; uint64_t total; size_t first; };

static int src_total_cmp(const void *a, const void *b)
{
	const struct src_total *x = a, *y = b;

	return x->total > y->total ? -1 : x->total < y->total;
}

/* (tgid, cls) grouped together, then by count, descending */
static int stack_agg_cmp(const void *a, const void *b)
{
	const struct stack_agg *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

#define STACK_SOURCES 10

static struct json_object *error_obj(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

/* The symbolised frames of one stack, tracing machinery at the top skipped. */
static struct json_object *stack_frames(int fd, __u32 id, const struct fragml_ksyms *ks)
{
	struct json_object *frames = json_object_new_array();
	__u64 ip[FRAGML_STACK_DEPTH] = {};

	if (bpf_map_lookup_elem(fd, &id, ip))
		return frames;
	for (int d = 0; d < FRAGML_STACK_DEPTH && ip[d]; d++) {
		char sym[300];

		fragml_ksym_format(ks, ip[d], sym, sizeof(sym));
		/* tracing machinery, if the kernel has more of it than skipped */
		if (!json_object_array_length(frames) &&
		    (!strncmp(sym, "bpf_", 4) || !strncmp(sym, "__traceiter_", 12) ||
		     !strncmp(sym, "__bpf_trace_", 12)))
			continue;
		json_object_array_add(frames, json_object_new_string(sym));
	}
	return frames;
}

/* "stacks": the sources with most stack-recorded allocations, each with its
 * top call stacks symbolised through /proc/kallsyms; null without --stacks. */
static struct json_object *stacks_json(struct fragml_collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.fragml_stackmap);
	struct json_object *arr;
	struct src_total *tot;
	struct fragml_ksyms *ks;
	struct fragml_err kerr = {};
	size_t n = 0;

	if (!c->o.stacks)
		return NULL;
	ks = fragml_ksyms_load(&kerr);
	if (!ks)
		return error_obj(fragml_err_msg(&kerr));
	qsort(c->stacks, c->n_stacks, sizeof(*c->stacks), stack_agg_cmp);
	tot = calloc(c->n_stacks + 1, sizeof(*tot));
	for (size_t i = 0; tot && i < c->n_stacks; i++) {
		if (!n || tot[n - 1].tgid != c->stacks[i].tgid || tot[n - 1].cls != c->stacks[i].cls) {
			tot[n].tgid = c->stacks[i].tgid;
			tot[n].cls = c->stacks[i].cls;
			tot[n].first = i;
			n++;
		}
		tot[n - 1].total += c->stacks[i].count;
	}
	if (tot)
		qsort(tot, n, sizeof(*tot), src_total_cmp);
	arr = json_object_new_array();
	for (size_t s = 0; s < n && s < STACK_SOURCES; s++) {
		const struct stack_agg *a = &c->stacks[tot[s].first];
		const char *cls = fragml_class_name(a->cls);
		struct json_object *src = json_object_new_object(), *top = json_object_new_array();
		char name[128];

		collect_make_source(name, sizeof(name), a->tgid, a->comm, a->flags, NULL);
		json_object_object_add(src, "source", json_object_new_string(name));
		json_object_object_add(src, "class", json_object_new_string(cls ? cls : "kernel"));
		json_object_object_add(src, "allocs", json_object_new_uint64(tot[s].total));
		for (unsigned int k = 0; k < c->o.stacks_top; k++, a++) {
			struct json_object *st;

			if (a >= c->stacks + c->n_stacks || a->tgid != tot[s].tgid || a->cls != tot[s].cls)
				break;
			st = json_object_new_object();
			json_object_object_add(st, "count", json_object_new_uint64(a->count));
			json_object_object_add(st, "stack_id", json_object_new_int(a->stack_id));
			json_object_object_add(st, "frames", stack_frames(fd, (__u32)a->stack_id, ks));
			json_object_array_add(top, st);
		}
		json_object_object_add(src, "top", top);
		json_object_array_add(arr, src);
	}
	free(tot);
	fragml_ksyms_free(ks);
	return arr;
}

/* Kernel memory of the collector's maps and programs, as the kernel accounts it. */
uint64_t collect_kernel_bytes(struct fragml_collector *c)
{
	struct fragml_kmem km = { 0 };
	struct bpf_program *p;
	uint64_t total;

	bpf_object__for_each_program(p, c->skel->obj)
		if (bpf_program__fd(p) >= 0)
			fragml_kmem_add_fd(&km, bpf_program__fd(p), NULL);
	total = km.map_bytes + km.prog_bytes;
	fragml_kmem_free(&km);
	return total;
}

/*
 * The snapshot, pageblock and identification sections come from the library's
 * own JSON writers (also behind `fragml report --json`), which write to a
 * FILE: their text is taken from a memory stream and parsed into the tree.
 */
enum section { SEC_BEFORE, SEC_AFTER, SEC_PAGEBLOCKS, SEC_IDENT };

static struct json_object *section_json(struct fragml_collector *c, enum section s)
{
	struct json_object *o = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *ms = open_memstream(&buf, &len);
	int ok = 0;

	if (!ms)
		return error_obj("out of memory");
	if (s == SEC_BEFORE || s == SEC_AFTER) {
		ok = !fragml_snapshot_json(s == SEC_BEFORE ? &c->before : &c->after, ms);
	} else if (s == SEC_PAGEBLOCKS) {
		/* per-pageblock scan at the end, with this run's tracked pages classed */
		struct fragml_pageblock_scan pb;
		struct fragml_err perr = {};

		if (fragml_pageblock_scan(&pb, bpf_map__fd(c->skel->maps.fragml_live), &perr)) {
			fclose(ms);
			free(buf);
			return error_obj(fragml_err_msg(&perr));
		}
		ok = !fragml_pageblock_json(&pb, ms);
	} else {
		struct fragml_ident id;

		if (!fragml_ident_read_fds(&id, bpf_map__fd(c->skel->maps.fragml_src),
					   bpf_map__fd(c->skel->maps.fragml_src_slab),
					   bpf_map__fd(c->skel->maps.fragml_stats), NULL, NULL)) {
			ok = !fragml_ident_json(&id, ms, 20);
			fragml_ident_free(&id);
		}
	}
	if (fclose(ms) == 0 && ok && buf)
		o = json_tokener_parse(buf);
	free(buf);
	return o;
}

int collect_write_summary(struct fragml_collector *c, struct fragml_err *err)
{
	static const char *const hook_key[FRAGML_NR_HOOKS] = {
		[FRAGML_HOOK_LIFETIME] = "lifetime", [FRAGML_HOOK_THP_FAULT] = "thp_fault",
		[FRAGML_HOOK_COMPACTION] = "compaction",
	};
	const struct fragml_collect_stats *st = &c->st;
	struct json_object *r = json_object_new_object(), *rows = json_object_new_object();
	char path[512], hex[24], num[32];
	int ret = 0;

	json_object_object_add(r, "workload", json_object_new_string(c->csv[0].workload));
	snprintf(num, sizeof(num), "%.3f", st->elapsed_s);
	json_object_object_add(r, "elapsed_s", json_object_new_double_s(st->elapsed_s, num));
	json_object_object_add(r, "events", json_object_new_uint64(st->events));
	json_object_object_add(r, "lost", json_object_new_uint64(st->lost));
	json_object_object_add(r, "allocs", json_object_new_uint64(st->allocs));
	json_object_object_add(r, "frees_matched", json_object_new_uint64(st->frees_matched));
	json_object_object_add(r, "extfrag", json_object_new_uint64(st->extfrag));
	json_object_object_add(r, "faults", json_object_new_uint64(st->faults));
	json_object_object_add(r, "regions", json_object_new_uint64(st->regions));
	json_object_object_add(r, "compactions", json_object_new_uint64(st->compactions));
	json_object_object_add(r, "censored", json_object_new_uint64(st->censored));
	json_object_object_add(r, "slab_named", json_object_new_uint64(st->slab_named));
	json_object_object_add(r, "needs", json_object_new_uint64(st->needs));
	for (int h = 0; h < FRAGML_NR_HOOKS; h++)
		if (hook_key[h])
			json_object_object_add(rows, hook_key[h], json_object_new_uint64(st->rows[h]));
	json_object_object_add(r, "rows", rows);
	json_object_object_add(r, "sample", json_object_new_uint64(c->o.sample));
	snprintf(num, sizeof(num), "%g", c->o.lifetime_T_s);
	json_object_object_add(r, "lifetime_T_s", json_object_new_double_s(c->o.lifetime_T_s, num));
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)c->vmemmap_base);
	json_object_object_add(r, "vmemmap_base", json_object_new_string(hex));
	json_object_object_add(r, "kernel_bytes", json_object_new_uint64(st->kernel_bytes));
	json_object_object_add(r, "before", section_json(c, SEC_BEFORE));
	json_object_object_add(r, "after", section_json(c, SEC_AFTER));
	json_object_object_add(r, "stacks", stacks_json(c));
	json_object_object_add(r, "pageblocks", section_json(c, SEC_PAGEBLOCKS));
	json_object_object_add(r, "identification", section_json(c, SEC_IDENT));

	snprintf(path, sizeof(path), "%s/summary.json", c->o.outdir);
	if (json_object_to_file_ext(path, r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
		ret = fragml_err_set(err, -EIO, "%s: write failed: %s", path, json_util_get_last_err());
	json_object_put(r);
	return ret;
}
